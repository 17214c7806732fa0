package wasmhost

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestBreaker(t *testing.T) {
	t0 := time.Unix(0, 0)
	type step struct {
		at      time.Duration // since t0
		allowed bool          // allow's answer
		state   BreakerState  // state allow reports
		fault   bool          // outcome recorded when allowed
	}
	tests := []struct {
		name  string
		steps []step
		final BreakerState
	}{
		{"successes keep it closed", []step{{0, true, BreakerClosed, false}, {1, true, BreakerClosed, false}}, BreakerClosed},
		{"faults under the threshold", []step{{0, true, BreakerClosed, true}, {1, true, BreakerClosed, true}, {2, true, BreakerClosed, false}, {3, true, BreakerClosed, true}}, BreakerClosed},
		{"threshold opens", []step{{0, true, BreakerClosed, true}, {1, true, BreakerClosed, true}, {2, true, BreakerClosed, true}, {3, false, BreakerOpen, false}}, BreakerOpen},
		{"probe after backoff closes", []step{
			{0, true, BreakerClosed, true}, {0, true, BreakerClosed, true}, {0, true, BreakerClosed, true},
			{breakerBase - 1, false, BreakerOpen, false},
			{breakerBase, true, BreakerHalfOpen, false},
			{breakerBase + 1, true, BreakerClosed, true},
		}, BreakerClosed},
		{"failed probe doubles the backoff", []step{
			{0, true, BreakerClosed, true}, {0, true, BreakerClosed, true}, {0, true, BreakerClosed, true},
			{breakerBase, true, BreakerHalfOpen, true},
			{3*breakerBase - 1, false, BreakerOpen, false},
			{3 * breakerBase, true, BreakerHalfOpen, true},
			{7*breakerBase - 1, false, BreakerOpen, false},
		}, BreakerOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBreaker()
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				ok, state := b.allow(now)
				if ok != s.allowed || state != s.state {
					t.Fatalf("step %d: allow = %v, %v; want %v, %v", i, ok, state, s.allowed, s.state)
				}
				if ok {
					b.record(now, s.fault)
				}
			}
			if got, _ := b.snapshot(); got != tt.final {
				t.Errorf("final state %v, want %v", got, tt.final)
			}
		})
	}
}

func TestBreakerBackoffCapped(t *testing.T) {
	b := newBreaker()
	now := time.Unix(0, 0)
	for range b.threshold {
		b.record(now, true)
	}
	for range 20 {
		_, until := b.snapshot()
		now = until
		if ok, _ := b.allow(now); !ok {
			t.Fatal("no probe after the backoff")
		}
		b.record(now, true)
	}
	if _, until := b.snapshot(); until.Sub(now) != breakerMax {
		t.Errorf("backoff = %v, want the cap %v", until.Sub(now), breakerMax)
	}
	if BreakerHalfOpen.String() != "half-open" || BreakerOpen.String() != "open" || BreakerClosed.String() != "closed" {
		t.Error("state names")
	}
}

// TestBreakerOnTheClock runs the breaker on the clock the host gives it by
// default, time.Now, inside a synctest bubble: the backoffs are the real
// ones (10 s doubling to 10 min), passed on the bubble's fake clock.
func TestBreakerOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker()
		start := time.Now()
		for range breakerThreshold {
			b.record(time.Now(), true)
		}
		wantBackoff := breakerBase
		var opened []time.Duration // how long each opening lasted
		for wantBackoff <= breakerMax {
			openedAt := time.Now()
			time.Sleep(wantBackoff - time.Nanosecond)
			if ok, state := b.allow(time.Now()); ok || state != BreakerOpen {
				t.Fatalf("%s into a %s backoff: allow = %v, %v; want refused, open", time.Since(openedAt), wantBackoff, ok, state)
			}
			time.Sleep(time.Nanosecond)
			ok, state := b.allow(time.Now())
			if !ok || state != BreakerHalfOpen {
				t.Fatalf("after a %s backoff: allow = %v, %v; want a half-open probe", wantBackoff, ok, state)
			}
			opened = append(opened, time.Since(openedAt))
			if wantBackoff == breakerMax {
				break
			}
			b.record(time.Now(), true) // the probe faults
			wantBackoff = min(2*wantBackoff, breakerMax)
		}
		if st, changed := b.record(time.Now(), false); st != BreakerClosed || !changed {
			t.Fatalf("good probe: %v, changed %v; want closed", st, changed)
		}
		want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
			160 * time.Second, 320 * time.Second, breakerMax}
		if len(opened) != len(want) {
			t.Fatalf("openings %v, want %v", opened, want)
		}
		for i := range want {
			if opened[i] != want[i] {
				t.Fatalf("openings %v, want %v", opened, want)
			}
		}
		if total := time.Since(start); total != 10*time.Second+20*time.Second+40*time.Second+80*time.Second+160*time.Second+320*time.Second+breakerMax {
			t.Errorf("closed again after %s of fake time", total)
		}
		if ok, state := b.allow(time.Now()); !ok || state != BreakerClosed {
			t.Errorf("after closing: allow = %v, %v", ok, state)
		}
	})
}

// TestBreakerOneProbeAtATime has many goroutines ask a half-open breaker
// at once: exactly one gets the probe until it is recorded or released.
func TestBreakerOneProbeAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker()
		for range breakerThreshold {
			b.record(time.Now(), true)
		}
		time.Sleep(breakerBase)
		for round := range 3 {
			var probes atomic.Int32
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					if ok, _ := b.allow(time.Now()); ok {
						probes.Add(1)
					}
				})
			}
			wg.Wait()
			if n := probes.Load(); n != 1 {
				t.Fatalf("round %d: %d probes allowed at once, want 1", round, n)
			}
			b.release() // the probe was not made: the next caller may probe
		}
	})
}
