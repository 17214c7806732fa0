package sandbox

import (
	"errors"
	"math/rand"
	"sync"
	"time"
)

// Random source limits: random_get gives an instance randBurst bytes at
// once and randRate bytes per second after that (Go's runtime asks for a
// few dozen at start), and fails past them. Without a limit, one
// random_get over a large memory costs the host tens of milliseconds
// where no deadline check runs, and straight-line code holds thousands.
const (
	randBurst = 1 << 20
	randRate  = 1 << 20
)

// errRandBudget is a read past an instance's random budget.
var errRandBudget = errors.New("random bytes past the plugin's budget")

// randBudget is an instance's random source (random_get): deterministic,
// as wazero's default (the same seed for every instance, so that a
// plugin's results do not depend on chance), within a byte budget. It is
// safe for concurrent use.
type randBudget struct {
	now func() time.Time
	src *rand.Rand

	mu     sync.Mutex
	budget byteBudget
}

// Read fills p from the source as far as the budget allows; past it, it
// fails with errRandBudget.
func (r *randBudget) Read(p []byte) (int, error) {
	r.mu.Lock()
	n := r.budget.take(r.now(), len(p), randBurst, randRate)
	r.src.Read(p[:n]) // never fails
	r.mu.Unlock()
	if n < len(p) {
		return n, errRandBudget
	}
	return n, nil
}

// byteBudget is a token bucket of bytes: full (burst) at first, refilled
// at rate bytes a second up to burst. Its user locks it.
type byteBudget struct {
	left   float64
	last   time.Time
	primed bool
}

// take takes up to want bytes at now and returns how many it got.
func (b *byteBudget) take(now time.Time, want int, burst, rate float64) int {
	if !b.primed {
		b.left, b.primed = burst, true
	} else {
		b.left = min(b.left+now.Sub(b.last).Seconds()*rate, burst)
	}
	b.last = now
	n := min(want, int(b.left))
	b.left -= float64(n)
	return n
}

// newRandBudget returns a random source with its budget full, seeded as
// wazero's default.
func newRandBudget(now func() time.Time) *randBudget {
	return &randBudget{now: now, src: rand.New(rand.NewSource(42))}
}
