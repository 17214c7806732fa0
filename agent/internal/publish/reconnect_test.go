package publish

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestDefaultReconnectWaitMax(t *testing.T) {
	tests := []struct {
		interval, want time.Duration
	}{
		{0, 2 * time.Second},
		{time.Second, 500 * time.Millisecond},
		{4 * time.Second, 2 * time.Second},
		{10 * time.Second, 2 * time.Second},
		{time.Hour, 2 * time.Second},
		{time.Millisecond, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := defaultReconnectWaitMax(tt.interval); got != tt.want {
			t.Errorf("defaultReconnectWaitMax(%s) = %s, want %s", tt.interval, got, tt.want)
		}
	}
	c := Config{URL: "nats://127.0.0.1:1", HostID: "a", Interval: 10 * time.Second}
	if err := c.setDefaults(); err != nil || c.ReconnectWaitMax != 2*time.Second {
		t.Errorf("default ReconnectWaitMax for a 10 s interval = %s (%v), want 2s", c.ReconnectWaitMax, err)
	}
	c = Config{URL: "nats://127.0.0.1:1", HostID: "a", ReconnectWaitMax: time.Nanosecond}
	if err := c.setDefaults(); err != nil || c.ReconnectWaitMax != minReconnectWait {
		t.Errorf("ReconnectWaitMax 1ns became %s (%v), want the floor %s", c.ReconnectWaitMax, err, minReconnectWait)
	}
}

func TestReconnectDelay(t *testing.T) {
	none := func(int64) int64 { return 0 }       // no jitter: the upper end
	most := func(n int64) int64 { return n - 1 } // the most jitter: the lower end
	const limit = 2 * time.Second
	tests := []struct {
		attempts  int
		limit     time.Duration
		high, low time.Duration
	}{
		{1, limit, 250 * time.Millisecond, 125 * time.Millisecond},
		{2, limit, 500 * time.Millisecond, 250 * time.Millisecond},
		{3, limit, time.Second, 500 * time.Millisecond},
		{4, limit, 2 * time.Second, time.Second},
		{5, limit, 2 * time.Second, time.Second},
		{1000, limit, 2 * time.Second, time.Second},
		{1, 100 * time.Millisecond, 100 * time.Millisecond, 50 * time.Millisecond},
		{7, 500 * time.Millisecond, 500 * time.Millisecond, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := reconnectDelay(tt.attempts, tt.limit, none); got != tt.high {
			t.Errorf("reconnectDelay(%d, %s) without jitter = %s, want %s", tt.attempts, tt.limit, got, tt.high)
		}
		if got := reconnectDelay(tt.attempts, tt.limit, most); got != tt.low {
			t.Errorf("reconnectDelay(%d, %s) with the most jitter = %s, want %s", tt.attempts, tt.limit, got, tt.low)
		}
	}
	// With real randomness the delay never leaves (0, limit], whatever the
	// number of attempts: an outage of any length costs at most limit.
	for _, limit := range []time.Duration{minReconnectWait, 300 * time.Millisecond, 2 * time.Second} {
		for attempts := 1; attempts <= 200; attempts++ {
			if d := reconnectDelay(attempts, limit, rand.Int64N); d <= 0 || d > limit {
				t.Fatalf("reconnectDelay(%d, %s) = %s, want in (0, %s]", attempts, limit, d, limit)
			}
		}
	}
}
