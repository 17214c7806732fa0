package wasmhost

import (
	"testing"
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
