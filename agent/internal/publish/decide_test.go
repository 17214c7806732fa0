package publish

import (
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const gap = 10 * time.Second
	// base is a publisher that sent a full snapshot at t0, one tick ago,
	// with a fresh state to send and nothing asked.
	base := sendState{HasPrev: true, Fresh: true, LastFull: t0, ResyncMinGap: gap}
	tests := []struct {
		name     string
		change   func(s *sendState)
		at       time.Duration // since t0
		want     sendKind
		wantWait time.Duration
	}{
		{"a fresh state goes out as a change", func(*sendState) {}, time.Second, sendChange, 0},
		{"nothing fresh, nothing asked: nothing", func(s *sendState) { s.Fresh = false }, time.Second, sendNothing, 0},
		{"the first state is full", func(s *sendState) { s.HasPrev, s.LastFull = false, time.Time{} }, 0, sendFull, 0},
		{"without a base even a stale state is full", func(s *sendState) { s.HasPrev, s.Fresh = false, false }, time.Second, sendFull, 0},
		{"after a reconnect or a failed publish: full", func(s *sendState) { s.NeedFull = true }, time.Second, sendFull, 0},
		{"need full wins over a stale state", func(s *sendState) { s.NeedFull, s.Fresh = true, false }, time.Second, sendFull, 0},
		{"a resync within the gap waits, the fresh state goes as a change", func(s *sendState) { s.ResyncRequested = true }, 3 * time.Second, sendChange, 7 * time.Second},
		{"a resync within the gap waits, nothing fresh: nothing", func(s *sendState) { s.ResyncRequested, s.Fresh = true, false }, 3 * time.Second, sendNothing, 7 * time.Second},
		{"a resync at the gap is served", func(s *sendState) { s.ResyncRequested, s.Fresh = true, false }, gap, sendFull, 0},
		{"a resync after the gap is served", func(s *sendState) { s.ResyncRequested = true }, time.Hour, sendFull, 0},
		{"a resync with a full snapshot due anyway has no wait", func(s *sendState) { s.ResyncRequested, s.NeedFull = true, true }, time.Second, sendFull, 0},
		{"a clock stepped back makes a resync wait longer, never negative", func(s *sendState) { s.ResyncRequested, s.Fresh = true, false }, -5 * time.Second, sendNothing, 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.change(&s)
			kind, wait := decide(s, t0.Add(tt.at))
			if kind != tt.want || wait != tt.wantWait {
				t.Errorf("decide(%+v, t0%+v) = %v, %v; want %v, %v", s, tt.at, kind, wait, tt.want, tt.wantWait)
			}
		})
	}
}

func TestPeriodicFull(t *testing.T) {
	tests := []struct {
		deltas, fullEvery int
		want              bool
	}{
		{0, 30, false},
		{28, 30, false},
		{29, 30, true}, // the 30th change since the last full snapshot
		{40, 30, true},
		{0, 1, true}, // every change
		{1000, 0, false},
	}
	for _, tt := range tests {
		if got := periodicFull(tt.deltas, tt.fullEvery); got != tt.want {
			t.Errorf("periodicFull(%d, %d) = %v, want %v", tt.deltas, tt.fullEvery, got, tt.want)
		}
	}
}
