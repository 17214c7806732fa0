package waitfor

import (
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeT records a failure instead of ending the test, so that Until's
// failure path can be checked.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(f) // Fatalf does not return
}

func run(f *fakeT, do func()) {
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
	}()
	do()
}

func TestUntil(t *testing.T) {
	t.Run("returns once the condition holds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var n atomic.Int32
			go func() {
				time.Sleep(time.Second)
				n.Store(1)
			}()
			start := time.Now()
			Until(t, time.Minute, func() bool { return n.Load() == 1 }, "n never became 1")
			if waited := time.Since(start); waited < time.Second || waited > time.Second+Poll {
				t.Errorf("returned after %s, want within one poll of 1s", waited)
			}
		})
	})
	t.Run("fails at the deadline with the last value", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeT{TB: t}
			var calls struct{ N int }
			start := time.Now()
			run(f, func() {
				Until(f, time.Second, func() bool { calls.N++; return false }, "never: %+v", &calls)
			})
			if time.Since(start) != time.Second {
				t.Errorf("failed after %s, want the timeout", time.Since(start))
			}
			// One call at once, one per poll, one at the deadline.
			want := fmt.Sprintf("never: &{N:%d} (waited 1s)", calls.N)
			if f.failed != want || calls.N < int(time.Second/Poll) {
				t.Errorf("message %q, want %q after at least %d calls", f.failed, want, time.Second/Poll)
			}
		})
	})
	t.Run("a condition already true costs no wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			Until(t, time.Minute, func() bool { return true }, "true")
			if time.Since(start) != 0 {
				t.Errorf("waited %s", time.Since(start))
			}
		})
	})
}
