package natssub

import (
	"context"
	"sync"
	"time"
)

// resyncScheduler spaces a subscriber's resync requests: for each host at
// most one request per gap and at most one waiting for its turn, however
// many gaps are detected meanwhile. It reads the time with time.Now and
// waits with time.NewTimer, which testing/synctest fakes, and leaves the
// request itself to send. It is safe for concurrent use.
type resyncScheduler struct {
	gap  time.Duration
	send func(ctx context.Context, host string) // one request; runs on the scheduler's goroutine for host

	mu      sync.Mutex
	last    map[string]time.Time // when the last request for a host was sent
	waiting map[string]bool      // a request for the host is scheduled
	closed  bool
	wg      sync.WaitGroup
}

func newResyncScheduler(gap time.Duration, send func(ctx context.Context, host string)) *resyncScheduler {
	return &resyncScheduler{gap: gap, send: send, last: map[string]time.Time{}, waiting: map[string]bool{}}
}

// schedule has a request for host sent in the background: at once, or when
// one was sent less than gap ago, once the gap has passed. It does nothing
// when a request for host is already waiting, when ctx is done (which also
// cancels a waiting request) or after close.
func (r *resyncScheduler) schedule(ctx context.Context, host string) {
	r.scheduleIf(ctx, host, 0, nil)
}

// scheduleIf is schedule that waits at least delay and then sends only when
// still, if not nil, says the request is still needed; a request that is
// not needed leaves the host's last request time as it was.
func (r *resyncScheduler) scheduleIf(ctx context.Context, host string, delay time.Duration, still func() bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || ctx.Err() != nil || r.waiting[host] {
		return
	}
	wait := max(r.gap-time.Since(r.last[host]), delay)
	r.waiting[host] = true
	r.wg.Go(func() {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				r.mu.Lock()
				delete(r.waiting, host)
				r.mu.Unlock()
				return
			}
		}
		if still != nil && !still() {
			r.mu.Lock()
			delete(r.waiting, host)
			r.mu.Unlock()
			return
		}
		r.mu.Lock()
		r.last[host] = time.Now()
		delete(r.waiting, host)
		r.mu.Unlock()
		r.send(ctx, host)
	})
}

// forget drops the time of every host's last request, so that the next
// request for each goes out at once. A request already waiting still waits.
func (r *resyncScheduler) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.last)
}

// close refuses new requests and waits until the scheduled ones were sent
// or cancelled by their context.
func (r *resyncScheduler) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
}
