package publish

import (
	"context"
	"sync"
)

// link is the life of one NATS connection as a context: cancelled when the
// connection is lost, so that a JetStream request in flight then (a store
// waiting for its acknowledgement, a purge) fails at once instead of
// holding the publisher until its timeout, while the reconnect calls for a
// full snapshot. Run's own cancellation does not reach it: at shutdown the
// last publish still completes. Safe for concurrent use.
type link struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
}

// context returns the current connection's context. Between a loss and
// the next up it is the lost one's, already cancelled.
func (l *link) context() context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx == nil {
		l.ctx, l.cancel = context.WithCancel(context.Background())
	}
	return l.ctx
}

// up gives a (re)established connection a live context.
func (l *link) up() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx == nil || l.ctx.Err() != nil {
		l.ctx, l.cancel = context.WithCancel(context.Background())
	}
}

// down cancels the current connection's context: it was lost.
func (l *link) down() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil {
		l.cancel()
	}
}
