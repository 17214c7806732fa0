package waitfor

import (
	"testing"
	"time"
)

// Poll is how often Until tests its condition.
const Poll = 5 * time.Millisecond

// Until calls cond every Poll until it returns true, then returns. When
// timeout passes first, it fails the test with t.Fatalf(msg, args...)
// followed by how long it waited; args are formatted at that moment, so a
// pointer to a value that cond updates shows its last state. cond runs on
// the calling goroutine. Inside a testing/synctest bubble the polling
// runs on the bubble's fake clock.
func Until(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	if cond() {
		return
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(Poll)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if cond() {
				return
			}
		case <-deadline.C:
			if cond() {
				return
			}
			t.Fatalf(msg+" (waited %s)", append(args, timeout)...)
		}
	}
}
