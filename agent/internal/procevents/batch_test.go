package procevents

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// runBatcher starts a batcher in the synctest bubble and returns its
// input, output and stop channels and its counters.
func runBatcher(t *testing.T, window time.Duration, maxBatch, queue int) (chan Event, chan Batch, chan struct{}, *atomic.Uint64, *atomic.Uint64) {
	t.Helper()
	in := make(chan Event)
	out := make(chan Batch, queue)
	stop := make(chan struct{})
	var batches, dropped atomic.Uint64
	b := &batcher{window: window, maxBatch: maxBatch, batches: &batches, dropped: &dropped}
	go b.run(in, out, stop)
	return in, out, stop, &batches, &dropped
}

func execEvent(pid int32) Event { return Event{Kind: KindExec, PID: pid, TGID: pid} }

// pids lists the pids of a batch's events.
func pids(b Batch) []int32 {
	var p []int32
	for _, e := range b.Events {
		p = append(p, e.PID)
	}
	return p
}

func TestBatcherWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, out, _, batches, _ := runBatcher(t, time.Second, 100, 1)
		start := time.Now()
		in <- execEvent(1)
		time.Sleep(600 * time.Millisecond)
		in <- execEvent(2)
		synctest.Wait()
		select {
		case b := <-out:
			t.Fatalf("batch %v sent before its window ended", pids(b))
		default:
		}
		b := <-out
		if got := time.Since(start); got != time.Second {
			t.Errorf("batch sent %v after its first event, want the window of 1s", got)
		}
		if p := pids(b); len(p) != 2 || p[0] != 1 || p[1] != 2 {
			t.Errorf("batch %v, want [1 2]", p)
		}
		// The next event opens a new window.
		time.Sleep(5 * time.Second)
		in <- execEvent(3)
		start = time.Now()
		b = <-out
		if got := time.Since(start); got != time.Second {
			t.Errorf("second batch after %v, want 1s", got)
		}
		if p := pids(b); len(p) != 1 || p[0] != 3 {
			t.Errorf("second batch %v, want [3]", p)
		}
		close(in)
		if _, ok := <-out; ok {
			t.Error("out not closed after in")
		}
		if batches.Load() != 2 {
			t.Errorf("%d batches counted, want 2", batches.Load())
		}
	})
}

func TestBatcherIdleSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, out, _, _, _ := runBatcher(t, time.Second, 100, 1)
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case b := <-out:
			t.Fatalf("idle batcher sent %v", pids(b))
		default:
		}
		close(in)
		<-out
	})
}

func TestBatcherFlushesWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, out, _, _, _ := runBatcher(t, time.Second, 3, 4)
		start := time.Now()
		for pid := int32(1); pid <= 7; pid++ {
			in <- execEvent(pid)
		}
		for i, want := range []int{3, 3} {
			b := <-out
			if len(b.Events) != want {
				t.Errorf("batch %d has %d events, want %d", i, len(b.Events), want)
			}
			if time.Since(start) != 0 {
				t.Errorf("full batch %d waited %v", i, time.Since(start))
			}
		}
		b := <-out // the seventh, after the window
		if p := pids(b); len(p) != 1 || p[0] != 7 || time.Since(start) != time.Second {
			t.Errorf("last batch %v after %v, want [7] after 1s", p, time.Since(start))
		}
		close(in)
	})
}

func TestBatcherCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, out, stop, _, dropped := runBatcher(t, time.Second, 100, 1)
		in <- execEvent(1)
		in <- execEvent(2)
		close(stop)
		close(in)
		b, ok := <-out
		if !ok || len(b.Events) != 2 {
			t.Fatalf("got %v (open %v), want the pending 2 events", pids(b), ok)
		}
		if _, ok := <-out; ok {
			t.Error("out not closed")
		}
		if dropped.Load() != 0 {
			t.Errorf("%d dropped, want 0", dropped.Load())
		}
	})
}

// TestBatcherCloseDropsUnread checks that a batcher whose receiver is gone
// still ends on stop: what out cannot take is dropped and counted.
func TestBatcherCloseDropsUnread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, out, stop, batches, dropped := runBatcher(t, time.Second, 2, 1)
		for pid := int32(1); pid <= 4; pid++ {
			in <- execEvent(pid) // [1 2] fills out; [3 4] waits for room
		}
		synctest.Wait()
		close(stop)        // drops [3 4]
		in <- execEvent(5) // pending, then dropped at the end of in
		close(in)
		synctest.Wait()
		n := 0
		for b := range out {
			n += len(b.Events)
		}
		if n != 2 || batches.Load() != 1 || dropped.Load() != 3 {
			t.Errorf("received %d events in %d batches, %d dropped; want 2 in 1, 3 dropped", n, batches.Load(), dropped.Load())
		}
	})
}

func TestBatcherLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, out, _, _, _ := runBatcher(t, time.Second, 100, 1)
		in <- execEvent(1)
		in <- Event{Kind: KindLost}
		b := <-out
		if !b.Lost {
			t.Error("batch with a lost event has Lost false")
		}
		in <- execEvent(2)
		if b := <-out; b.Lost {
			t.Error("the next batch has Lost true")
		}
		close(in)
	})
}
