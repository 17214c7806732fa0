package publish

import "time"

// Reconnect waits: the first after a lost connection, the floor of any cap
// (so that a tiny interval never makes the client spin) and the default cap
// for a long interval.
const (
	firstReconnectWait = 250 * time.Millisecond
	minReconnectWait   = 10 * time.Millisecond
	maxReconnectWait   = 2 * time.Second
)

// defaultReconnectWaitMax is the default cap of the reconnect wait for the
// tick interval: half of it, at most maxReconnectWait (which is also the cap
// without an interval), at least minReconnectWait. A server that comes back
// is then found again within half an interval, and the full snapshot that
// follows the reconnect reaches subscribers before the next tick would.
func defaultReconnectWaitMax(interval time.Duration) time.Duration {
	if interval <= 0 {
		return maxReconnectWait
	}
	return max(min(interval/2, maxReconnectWait), minReconnectWait)
}

// reconnectDelay is the wait before the attempts-th reconnect attempt in a
// row (counting from 1): firstReconnectWait doubling up to limit, less a
// random part of up to half of it, drawn by jitter(n), which returns a
// number in [0, n) (rand.Int64N). The result lies in [d/2, d] for that d, so
// it never exceeds limit, and a fleet that lost the same server does not
// come back in step.
func reconnectDelay(attempts int, limit time.Duration, jitter func(n int64) int64) time.Duration {
	d := min(firstReconnectWait, limit)
	for i := 1; i < attempts && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d - time.Duration(jitter(int64(d)/2+1))
}
