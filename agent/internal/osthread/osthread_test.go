package osthread

import (
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestGoNeverOnMain runs many functions through Go while the main thread
// is free to run goroutines (the test binary's main goroutine waits in
// m.Run): none may run on the main thread, and each stays on its locked
// thread. How many had to be handed over is logged: it depends on the
// scheduler.
func TestGoNeverOnMain(t *testing.T) {
	before := handovers.Load()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var onMainThread, moved int
	for range 2000 {
		wg.Add(1)
		Go(func() {
			defer wg.Done()
			tid := unix.Gettid()
			runtime.Gosched()
			mu.Lock()
			defer mu.Unlock()
			if tid == unix.Getpid() {
				onMainThread++
			}
			if unix.Gettid() != tid {
				moved++
			}
			runtime.UnlockOSThread()
		})
	}
	wg.Wait()
	if onMainThread > 0 || moved > 0 {
		t.Errorf("%d of 2000 ran on the main thread, %d changed threads while locked", onMainThread, moved)
	}
	t.Logf("%d of 2000 started on the main thread and were handed over", handovers.Load()-before)
}
