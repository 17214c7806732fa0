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
	budget float64
	last   time.Time
	primed bool
}

// Read fills p from the source as far as the budget allows; past it, it
// fails with errRandBudget.
func (r *randBudget) Read(p []byte) (int, error) {
	r.mu.Lock()
	now := r.now()
	if !r.primed {
		r.budget, r.primed = randBurst, true
	} else {
		r.budget = min(r.budget+now.Sub(r.last).Seconds()*randRate, randBurst)
	}
	r.last = now
	n := min(len(p), int(r.budget))
	r.budget -= float64(n)
	r.src.Read(p[:n]) // never fails
	r.mu.Unlock()
	if n < len(p) {
		return n, errRandBudget
	}
	return n, nil
}

// newRandBudget returns a random source with its budget full, seeded as
// wazero's default.
func newRandBudget(now func() time.Time) *randBudget {
	return &randBudget{now: now, src: rand.New(rand.NewSource(42))}
}
