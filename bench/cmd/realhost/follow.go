package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// watcher is called with each new state of the followed host and when it
// was received. It runs under the follower's lock: it must be quick and
// must not call the follower. The state is shared and read-only.
type watcher func(at time.Time, s *snapshot.Snapshot)

// follower follows the agent's host on NATS through natssub (which joins
// chunks, decompresses, applies deltas and asks for resyncs) and hands
// each new state, a snapshot or an applied delta, once to its watchers.
// Its methods are safe for concurrent use.
type follower struct {
	nc     *nats.Conn
	sub    *natssub.Subscriber
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// agentExited ends waits early.
	agentExited <-chan struct{}

	mu       sync.Mutex
	watchers map[int]watcher
	nextID   int
	last     *snapshot.Snapshot
	states   int
}

// follow connects to url and follows host until close.
func follow(ctx context.Context, url, host string, agentExited <-chan struct{}) (*follower, error) {
	nc, err := nats.Connect(url, nats.Name("realhost"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", url, err)
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "realhost", Level: hclog.Warn, Output: os.Stderr})
	sub, err := natssub.New(nc, natssub.Config{HostID: host, NoJetStream: true, ChangeBuffer: 4096}, logger)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{nc: nc, sub: sub, cancel: cancel, agentExited: agentExited, watchers: make(map[int]watcher)}
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		if err := sub.Run(ctx); err != nil {
			logger.Error("follow the agent", "error", err)
		}
	}()
	go func() {
		defer f.wg.Done()
		f.loop()
	}()
	return f, nil
}

// loop hands each new state to the watchers until the subscriber stops;
// a heartbeat hands on the same state with its newer scan time (a quiet
// agent only sends those), without counting as a state.
func (f *follower) loop() {
	var epoch string
	var seq uint64
	for c := range f.sub.Changes() {
		if c.State == nil {
			continue
		}
		switch {
		case c.Kind == snapshot.KindHeartbeat && c.Epoch == epoch && c.Seq == seq:
		case c.Kind != snapshot.KindSnapshot && c.Kind != snapshot.KindDelta:
			continue
		case c.Epoch == epoch && c.Seq <= seq:
			continue
		}
		fresh := c.Kind != snapshot.KindHeartbeat
		epoch, seq = c.Epoch, c.Seq
		at := time.Now()
		f.mu.Lock()
		f.last = c.State
		if fresh {
			f.states++
		}
		for _, w := range f.watchers {
			w(at, c.State)
		}
		f.mu.Unlock()
	}
}

// watch adds w; the returned function removes it.
func (f *follower) watch(w watcher) (unwatch func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.nextID
	f.nextID++
	f.watchers[id] = w
	return func() {
		f.mu.Lock()
		delete(f.watchers, id)
		f.mu.Unlock()
	}
}

// current returns the last state, nil before the first, and how many
// states came so far.
func (f *follower) current() (*snapshot.Snapshot, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.states
}

// waitFor returns the first state, the current one included, for which
// ok is true; it gives up after timeout or when the agent exits.
func (f *follower) waitFor(ctx context.Context, timeout time.Duration, ok func(*snapshot.Snapshot) bool) (*snapshot.Snapshot, error) {
	found := make(chan *snapshot.Snapshot, 1)
	var once sync.Once
	f.mu.Lock()
	if f.last != nil && ok(f.last) {
		s := f.last
		f.mu.Unlock()
		return s, nil
	}
	// Added under the same lock as the check, so no state falls between.
	id := f.nextID
	f.nextID++
	f.watchers[id] = func(_ time.Time, s *snapshot.Snapshot) {
		if ok(s) {
			once.Do(func() { found <- s })
		}
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.watchers, id)
		f.mu.Unlock()
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case s := <-found:
		return s, nil
	case <-t.C:
		return nil, fmt.Errorf("no such state from the agent within %v", timeout)
	case <-f.agentExited:
		return nil, errAgentExited
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dropped is how many changes the subscriber dropped because this
// follower was slow.
func (f *follower) dropped() uint64 { return f.sub.Dropped() }

// close stops following and closes the connection.
func (f *follower) close() {
	f.cancel()
	f.wg.Wait()
	f.nc.Close()
}
