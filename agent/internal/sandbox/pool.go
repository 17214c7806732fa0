package sandbox

import (
	"context"
	"sync"
)

// Instance recycling: an instance is closed after recycleCalls export calls,
// or when its memory grew past the pool's mark (guest memory never shrinks).
const recycleCalls = 10000

// pool is a bounded set of instances of one plugin. get hands an instance
// to one goroutine; put takes it back (or discards it). At most max
// instances exist at once. Safe for concurrent use.
type pool struct {
	start     func(context.Context) (*instance, error)
	markBytes uint64

	slots chan struct{} // one token per live instance
	idle  chan *instance

	mu     sync.Mutex
	closed bool
}

func newPool(max int, markBytes uint64, start func(context.Context) (*instance, error)) *pool {
	return &pool{
		start:     start,
		markBytes: markBytes,
		slots:     make(chan struct{}, max),
		idle:      make(chan *instance, max),
	}
}

// get returns an idle instance, starts a new one when fewer than max exist,
// or waits for one to come back until ctx is done.
func (p *pool) get(ctx context.Context) (*instance, error) {
	select {
	case in := <-p.idle:
		return in, nil
	default:
	}
	select {
	case in := <-p.idle:
		return in, nil
	case p.slots <- struct{}{}:
		in, err := p.start(ctx)
		if err != nil {
			<-p.slots
			return nil, err
		}
		return in, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// add puts a freshly started instance into the pool if there is room, and
// reports whether it did; used to keep the instance a load started.
func (p *pool) add(in *instance) bool {
	select {
	case p.slots <- struct{}{}:
		p.idle <- in
		return true
	default:
		return false
	}
}

// put returns in after use. healthy is false after a fault: the instance is
// closed. A healthy instance past its call count or memory mark is closed
// too; the next get starts a fresh one.
func (p *pool) put(ctx context.Context, in *instance, healthy bool) (recycled bool) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if healthy && !closed && in.calls < recycleCalls && in.memoryBytes() <= p.markBytes {
		p.idle <- in
		return false
	}
	in.close(ctx)
	<-p.slots
	return healthy
}

// live is the number of instances that exist now.
func (p *pool) live() int { return len(p.slots) }

// close closes the idle instances; busy ones are closed when put back.
func (p *pool) close(ctx context.Context) {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case in := <-p.idle:
			in.close(ctx)
			<-p.slots
		default:
			return
		}
	}
}
