package sandbox

import (
	"context"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// StopMode is how the host stops a plugin call that runs past its timeout.
type StopMode int

const (
	// StopNone: calls have no deadline (benchmarks only).
	StopNone StopMode = iota
	// StopInline: the module was instrumented at load so that every loop
	// checks a stop global, which a timer sets when the deadline passes;
	// the guest then traps. A loop iteration costs one load and a branch.
	StopInline
	// StopContext: the module could not be instrumented, so wazero checks
	// the call's context at every loop (an exit to Go, 35–43 ns each).
	StopContext
)

var stopModeNames = [...]string{"none", "inline", "context"}

// String returns the mode's name as logged and shown in stats.
func (s StopMode) String() string {
	if s < 0 || int(s) >= len(stopModeNames) {
		return "unknown"
	}
	return stopModeNames[s]
}

// stopper stops an instrumented instance: while a run is armed, a timer (or
// the end of the caller's context) sets the instance's stop global to 1 and
// the guest traps at its next loop iteration. Each run has a generation so
// that a timer of an earlier run, firing late, cannot stop a later one.
type stopper struct {
	global api.MutableGlobal

	mu       sync.Mutex
	gen      uint64 // of the last run armed
	armed    bool
	fired    bool
	deadline time.Time // of the armed run

	timer   *time.Timer
	release func() bool // unregisters the context's AfterFunc
}

// arm starts a run of at most d that also ends when ctx does.
func (s *stopper) arm(ctx context.Context, d time.Duration) {
	s.mu.Lock()
	s.gen++
	gen := s.gen
	s.armed, s.fired = true, false
	s.deadline = time.Now().Add(d)
	s.mu.Unlock()
	fire := func() { s.fire(gen) }
	s.timer = time.AfterFunc(d, fire)
	s.release = nil
	if ctx.Done() != nil {
		s.release = context.AfterFunc(ctx, fire)
	}
}

func (s *stopper) fire(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.armed && s.gen == gen && !s.fired {
		s.fired = true
		s.global.Set(1)
	}
}

// hasFired reports whether the armed run has been stopped.
func (s *stopper) hasFired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired
}

// disarm ends the run and reports whether it was stopped or ran past its
// deadline. The timer alone cannot tell: it runs only when a goroutine is
// free to run it, and while every P runs guest code (which Go cannot
// preempt) a call can return long after its deadline before the timer has
// fired. The global is reset, so an instance whose run finished as the
// timer fired stays usable.
func (s *stopper) disarm() bool {
	s.timer.Stop()
	if s.release != nil {
		s.release()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = false
	if s.fired {
		s.global.Set(0)
	}
	return s.fired || !time.Now().Before(s.deadline)
}
