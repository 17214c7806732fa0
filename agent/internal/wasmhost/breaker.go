package wasmhost

import (
	"sync"
	"time"
)

// Circuit breaker defaults: breakerThreshold faults in a row open the circuit
// for breakerBase, doubled after each failed probe up to breakerMax.
const (
	breakerThreshold = 3
	breakerBase      = 10 * time.Second
	breakerMax       = 10 * time.Minute
)

// BreakerState is the state of a plugin's circuit breaker.
type BreakerState int

const (
	// BreakerClosed: calls go through.
	BreakerClosed BreakerState = iota
	// BreakerOpen: no calls until the backoff has passed; processes keep
	// their previous results.
	BreakerOpen
	// BreakerHalfOpen: the backoff has passed and one probe call decides
	// between closed (it worked) and open with a doubled backoff.
	BreakerHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s BreakerState) String() string {
	switch s {
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	default:
		return "closed"
	}
}

// breaker is a per-plugin circuit breaker with exponential backoff. It is
// safe for concurrent use; times come from the caller so tests need no clock.
type breaker struct {
	threshold int
	base, max time.Duration

	mu      sync.Mutex
	state   BreakerState
	probing bool // a half-open probe is running
	faults  int  // consecutive faults while closed
	backoff time.Duration
	until   time.Time
}

func newBreaker() *breaker {
	return &breaker{threshold: breakerThreshold, base: breakerBase, max: breakerMax}
}

// allow reports whether a call may be made at now, and the state it is
// made in. In BreakerHalfOpen one probe is allowed at a time: the caller
// must report it with record (or give it back with release) before
// another is allowed.
func (b *breaker) allow(now time.Time) (bool, BreakerState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen {
		if now.Before(b.until) {
			return false, BreakerOpen
		}
		b.state = BreakerHalfOpen
	}
	if b.state == BreakerHalfOpen {
		if b.probing {
			return false, BreakerHalfOpen
		}
		b.probing = true
	}
	return true, b.state
}

// release gives back a probe allowed but not made.
func (b *breaker) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

// record notes the outcome of one call. It returns the new state and
// whether it changed, so the caller can log transitions once.
func (b *breaker) record(now time.Time, faulted bool) (BreakerState, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	old := b.state
	switch {
	case !faulted && b.state == BreakerHalfOpen:
		b.state, b.faults, b.backoff = BreakerClosed, 0, 0
	case !faulted:
		b.faults = 0
	case b.state == BreakerHalfOpen:
		b.backoff = min(b.backoff*2, b.max)
		b.state, b.until = BreakerOpen, now.Add(b.backoff)
	case b.state == BreakerClosed:
		b.faults++
		if b.faults >= b.threshold {
			b.backoff = b.base
			b.state, b.until, b.faults = BreakerOpen, now.Add(b.backoff), 0
		}
	}
	return b.state, b.state != old
}

// snapshot returns the state and, when open, until when.
func (b *breaker) snapshot() (BreakerState, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state, b.until
}
