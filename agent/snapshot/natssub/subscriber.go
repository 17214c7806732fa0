package natssub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/proctag/proctag/agent/snapshot"
)

// Config says what to follow. The zero value follows every host under the
// prefix snapshot.DefaultSubjectPrefix, using JetStream when the stream
// exists.
type Config struct {
	// Prefix is the publishers' subject prefix; default
	// snapshot.DefaultSubjectPrefix.
	Prefix string
	// HostID follows one host; "" follows all.
	HostID string
	// NoJetStream ignores the publishers' stream even when it exists.
	NoJetStream bool
	// Limits bounds what the assembler accepts (its Prefix is set from
	// Prefix).
	Limits snapshot.AssemblerConfig
	// InPlace sets Limits.InPlace: deltas change the hosts' states in
	// place, so that following a large fleet costs one copy of each state
	// and no garbage in proportion to it per delta. Changes then carry a
	// State only when a host's state was replaced (see
	// snapshot.Change.State), and State returns a copy; FlowIndex follows
	// either way.
	InPlace bool
	// NoStateCopies sets Limits.NoStateCopies: with InPlace, changes carry
	// no State even when a host's state was replaced, so that a full
	// snapshot costs no copy for the receiver; read states with View.
	// FlowIndex.Follow reads them so.
	NoStateCopies bool
	// ResyncMinGap is the shortest time between two resync requests for one
	// host; default 2 s.
	ResyncMinGap time.Duration
	// RequestTimeout bounds a resync request, and each request for the
	// publishers' stream; default 5 s.
	RequestTimeout time.Duration
	// StreamRetry is how long Run keeps asking for the publishers'
	// stream while the answer is one that may pass (no answer in time, or
	// JetStream without a leader for the moment) before it follows core
	// NATS instead; default 30 s, negative for no retry. A stream that
	// does not exist, or JetStream that is off, is not waited for.
	StreamRetry time.Duration
	// ChangeBuffer is the capacity of the Changes channel; default 256.
	ChangeBuffer int
}

// Subscriber follows hosts on one NATS connection, which the caller owns.
// It never asks every agent at once: it joins a host by a request to that
// host's control subject when it first hears from it (or, following one
// host, at once), or by replaying the JetStream stream. Each agent's answer
// goes to Assembler.Confirm, so that what the bus said is checked against
// the agent's own word (WIRE.md, "Trust"). Without JetStream, Run installs a
// reconnect handler on the connection (chained to the one set before) that
// asks the followed host again after each reconnect; following all hosts,
// their next messages reveal what was missed. Its methods are safe for
// concurrent use.
type Subscriber struct {
	nc     *nats.Conn
	cfg    Config
	logger hclog.Logger
	asm    *snapshot.Assembler

	changes chan snapshot.Change
	emitMu  sync.Mutex
	closed  bool
	dropped atomic.Uint64
	errs    atomic.Uint64

	resync *resyncScheduler
	ctx    context.Context

	jetStream atomic.Bool
	// streamPending is the stream consumer's backlog after the last message
	// it delivered (jetstream.MsgMetadata.NumPending): 0 when caught up.
	streamPending atomic.Uint64
	ready         chan struct{}
}

// New returns a subscriber on nc; Run starts it.
func New(nc *nats.Conn, cfg Config, logger hclog.Logger) (*Subscriber, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = snapshot.DefaultSubjectPrefix
	}
	if cfg.HostID != "" && !snapshot.ValidToken(cfg.HostID) {
		return nil, fmt.Errorf("natssub: host id %q is not a NATS subject token", cfg.HostID)
	}
	if cfg.ResyncMinGap <= 0 {
		cfg.ResyncMinGap = 2 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.StreamRetry == 0 {
		cfg.StreamRetry = 30 * time.Second
	}
	if cfg.ChangeBuffer <= 0 {
		cfg.ChangeBuffer = 256
	}
	cfg.Limits.Prefix = cfg.Prefix
	cfg.Limits.InPlace = cfg.Limits.InPlace || cfg.InPlace
	cfg.Limits.NoStateCopies = cfg.Limits.NoStateCopies || cfg.NoStateCopies
	asm, err := snapshot.NewAssembler(cfg.Limits)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	s := &Subscriber{
		nc: nc, cfg: cfg, logger: logger.Named("natssub"), asm: asm,
		changes: make(chan snapshot.Change, cfg.ChangeBuffer),
		ready:   make(chan struct{}),
	}
	s.resync = newResyncScheduler(cfg.ResyncMinGap, func(ctx context.Context, host string) {
		if err := s.RequestResync(ctx, host); err != nil && ctx.Err() == nil {
			s.logger.Warn("resync request", "host_id", host, "error", err)
		}
	})
	return s, nil
}

// Changes delivers what each message did (see snapshot.Change). It never
// blocks the subscriber: when the buffer is full a change is dropped and
// counted (State stays right). It is closed when Run returns.
func (s *Subscriber) Changes() <-chan snapshot.Change { return s.changes }

// Dropped is the number of changes dropped because Changes was full.
func (s *Subscriber) Dropped() uint64 { return s.dropped.Load() }

// State returns host's current state (shared, read-only) and whether there
// is one.
func (s *Subscriber) State(host string) (*snapshot.Snapshot, bool) { return s.asm.State(host) }

// View calls fn with host's state and info while the subscriber holds them
// still, and reports whether the host has a state; fn must not keep the
// state nor call the subscriber, and should be quick: it holds up every
// host's messages (snapshot.Assembler.View).
func (s *Subscriber) View(host string, fn func(st *snapshot.Snapshot, info snapshot.HostInfo)) bool {
	return s.asm.View(host, fn)
}

// StateInfo returns State and Info of host as of one moment.
func (s *Subscriber) StateInfo(host string) (*snapshot.Snapshot, snapshot.HostInfo, bool) {
	return s.asm.StateInfo(host)
}

// Info returns what is known about host: epoch, seq, whether in sync, last
// heartbeat stats.
func (s *Subscriber) Info(host string) (snapshot.HostInfo, bool) { return s.asm.Info(host) }

// Hosts returns the ids of the hosts with a state, sorted.
func (s *Subscriber) Hosts() []string { return s.asm.Hosts() }

// UsesJetStream reports whether Run found the publishers' stream.
func (s *Subscriber) UsesJetStream() bool { return s.jetStream.Load() }

// Ready is closed once Run's subscriptions are in place on the server (and
// the stream replay has started, with JetStream): a message published after
// it is seen. It stays open when Run fails to subscribe.
func (s *Subscriber) Ready() <-chan struct{} { return s.ready }

// Run subscribes, replays the JetStream stream when there is one, asks the
// followed host for a full snapshot when there is not (following all hosts,
// each host is asked when its first message arrives), and follows the hosts
// until ctx is done. It returns nil then, or an error when it cannot
// subscribe.
func (s *Subscriber) Run(ctx context.Context) error {
	s.ctx = ctx
	defer s.closeChanges()
	var subs []*nats.Subscription
	defer func() {
		for _, sub := range subs {
			_ = sub.Unsubscribe()
		}
		s.resync.close()
	}()
	host := s.cfg.HostID
	if host == "" {
		host = "*"
	}
	var stop func()
	if !s.cfg.NoJetStream {
		var err error
		stop, err = s.consumeStreamRetry(ctx, host)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrJetStreamNotEnabled),
			errors.Is(err, nats.ErrNoResponders):
			s.logger.Debug("no jetstream stream, following core nats", "error", err)
		case err != nil:
			s.logger.Warn("jetstream stream unusable, following core nats", "error", err)
		}
	}
	if stop != nil {
		defer stop()
		sub, err := s.nc.Subscribe(snapshot.Subject(s.cfg.Prefix, host, snapshot.KindHeartbeat), s.handle)
		if err != nil {
			return fmt.Errorf("natssub: subscribe: %w", err)
		}
		subs = append(subs, sub)
		s.flush(ctx)
	} else {
		s.chainReconnect()
		// One subscription keeps the agent's order across kinds. It names
		// the kind token with '*', so recommended permissions can deny the
		// control subjects under it (agent/deploy/nats).
		sub, err := s.nc.Subscribe(snapshot.Subject(s.cfg.Prefix, host, "*"), s.handle)
		if err != nil {
			return fmt.Errorf("natssub: subscribe: %w", err)
		}
		subs = append(subs, sub)
		s.flush(ctx)
		s.join()
	}
	close(s.ready)
	<-ctx.Done()
	return nil
}

// flush waits until the server has the subscriptions.
func (s *Subscriber) flush(ctx context.Context) {
	if err := s.nc.FlushTimeout(s.cfg.RequestTimeout); err != nil && ctx.Err() == nil {
		s.logger.Warn("flush after subscribe", "error", err)
	}
}

// streamHeartbeat is how often the server holding the subscriber's
// consumer says it is alive while there is nothing to deliver. Missing two
// in a row, the client makes a new consumer, on another server of a
// cluster, from the next message on: 2 s after that server went away
// (nats.go's default, 5 s, made it 10 s). A subscriber costs its server
// one heartbeat a second when idle.
const streamHeartbeat = time.Second

// consumeStreamRetry is consumeStream, asked again after a pause that
// doubles from 250 ms up to 2 s while it fails with an error that may pass
// (streamRetryable), for at most StreamRetry.
func (s *Subscriber) consumeStreamRetry(ctx context.Context, host string) (func(), error) {
	deadline := time.Now().Add(s.cfg.StreamRetry)
	for pause := 250 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		stop, err := s.consumeStream(ctx, host)
		if err == nil || !streamRetryable(err) || ctx.Err() != nil || time.Now().Add(pause).After(deadline) {
			return stop, err
		}
		s.logger.Info("jetstream stream not answering yet, asking again", "error", err, "pause", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// streamRetryable reports whether a request for the stream failed in a way
// that may pass: no answer in time, or the JetStream API unavailable for
// the moment (a 503, as while a cluster elects its meta leader).
func streamRetryable(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		(errors.As(err, &apiErr) && apiErr.Code == 503)
}

// consumeStream replays and follows the stream with an ordered consumer.
func (s *Subscriber) consumeStream(ctx context.Context, host string) (func(), error) {
	js, err := jetstream.New(s.nc)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	name := snapshot.StreamName(s.cfg.Prefix)
	if _, err := js.Stream(lctx, name); err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	cons, err := js.OrderedConsumer(lctx, name, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{
			snapshot.Subject(s.cfg.Prefix, host, snapshot.KindSnapshot),
			snapshot.Subject(s.cfg.Prefix, host, snapshot.KindDelta),
		},
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer on %s: %w", name, err)
	}
	s.jetStream.Store(true) // before the first message can be fed
	pctx, cancel := context.WithCancel(ctx)
	pipe := newDecodePipe(pctx, s, pipeWorkers())
	stop := func() {
		cancel()
		pipe.wg.Wait()
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var pending uint64
		if md, err := m.Metadata(); err == nil {
			pending = md.NumPending
		}
		pipe.submit(pctx, m.Subject(), m.Headers(), m.Data(), pending)
	}, jetstream.PullHeartbeat(streamHeartbeat))
	if err != nil {
		stop()
		s.jetStream.Store(false)
		return nil, fmt.Errorf("consume %s: %w", name, err)
	}
	return func() {
		cc.Stop()
		stop()
	}, nil
}

// chainReconnect installs a reconnect handler on the connection that calls
// the one already there and then asks for a resync: messages published while
// this client was away are lost to it.
func (s *Subscriber) chainReconnect() {
	prev := s.nc.Opts.ReconnectedCB
	s.nc.SetReconnectHandler(func(c *nats.Conn) {
		if prev != nil {
			prev(c)
		}
		if s.ctx.Err() == nil {
			s.rejoin()
		}
	})
}

// rejoin asks again after a reconnect, ignoring the per-host gap.
func (s *Subscriber) rejoin() {
	s.resync.forget()
	s.join()
}

// join asks the followed host for a full snapshot. Following all hosts, it
// asks no one: each host is asked when its first message (a heartbeat or a
// delta, within one tick interval) arrives, never all agents at once.
func (s *Subscriber) join() {
	if s.cfg.HostID != "" {
		s.maybeResync(s.cfg.HostID)
	}
}

func (s *Subscriber) handle(m *nats.Msg) { s.feed(m.Subject, m.Header, m.Data) }

func (s *Subscriber) feed(subject string, header nats.Header, data []byte) {
	if !s.dataSubject(subject) {
		return
	}
	c, err := s.asm.Feed(subject, header, data)
	s.fed(subject, c, err)
}

// dataSubject reports whether subject is a data subject, not a control
// request of another subscriber.
func (s *Subscriber) dataSubject(subject string) bool {
	_, _, ok := snapshot.ParseSubject(s.cfg.Prefix, subject)
	return ok
}

// fed handles what feeding a message on subject did.
func (s *Subscriber) fed(subject string, c *snapshot.Change, err error) {
	if err != nil {
		if n := s.errs.Add(1); n == 1 || n%1000 == 0 {
			s.logger.Warn("bad message", "subject", subject, "error", err, "bad_messages", n)
		}
	}
	if c == nil {
		return
	}
	if c.NeedResync {
		s.maybeResync(c.HostID)
	}
	s.emit(*c)
}

func (s *Subscriber) emit(c snapshot.Change) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.changes <- c:
	default:
		s.dropped.Add(1)
	}
}

func (s *Subscriber) closeChanges() {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.closed = true
	close(s.changes)
}

// maybeResync has a resync request for host sent in the background, at
// once or, when one was sent less than ResyncMinGap ago, when the gap has
// passed (resyncScheduler). At most one request per host is waiting.
//
// Following the JetStream stream, the host's snapshots and deltas come from
// the stream while its heartbeats come straight from the subjects, so a
// consumer that lags sees heartbeats ahead of its state: a gap the stream
// is about to fill. While the consumer has a backlog, the request waits one
// of the host's intervals (at least ResyncMinGap) and is sent only if the
// host's state has not moved meanwhile (a lagging consumer moves it with
// the older messages it delivers); otherwise the next gap judges again.
// Asking at once would have every agent of a lagging subscriber send full
// snapshots that overtake the stream again. A consumer that has caught up
// asks at once: the stream lost what is missing.
func (s *Subscriber) maybeResync(host string) {
	if s.ctx == nil {
		return
	}
	if !s.jetStream.Load() {
		s.resync.schedule(s.ctx, host)
		return
	}
	before, _ := s.asm.Info(host)
	grace := max(before.Interval, s.cfg.ResyncMinGap)
	switch {
	case s.streamPending.Load() == 0:
		grace = 0
	case before.Interval == 0:
		grace = max(defaultStreamGrace, s.cfg.ResyncMinGap)
	}
	s.resync.scheduleIf(s.ctx, host, grace, func() bool {
		now, _ := s.asm.Info(host)
		return now.Epoch == before.Epoch && now.Seq == before.Seq // the state did not move
	})
}

// defaultStreamGrace is how long a resync request waits for the stream to
// fill a gap of a host whose interval is not known yet.
const defaultStreamGrace = 10 * time.Second

// ErrRefused is returned by RequestResync when the agent answered but did
// not accept the request.
var ErrRefused = errors.New("resync refused")

// RequestResync asks host's agent for a full snapshot and waits for its
// answer (not for the snapshot, which arrives through the subscription). The
// answer's epoch and seq go to the assembler (snapshot.Assembler.Confirm),
// which drops a state or an epoch the agent never published; the Change
// that makes, if any, is delivered on Changes.
func (s *Subscriber) RequestResync(ctx context.Context, host string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	b, _ := json.Marshal(snapshot.ControlRequest{Op: snapshot.OpResync})
	msg, err := s.nc.RequestWithContext(ctx, snapshot.ControlSubject(s.cfg.Prefix, host), b)
	if err != nil {
		return fmt.Errorf("resync %s: %w", host, err)
	}
	var reply snapshot.ControlReply
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return fmt.Errorf("resync %s: reply: %w", host, err)
	}
	if reply.HostID != host {
		return fmt.Errorf("resync %s: reply from host %q", host, reply.HostID)
	}
	if !reply.OK {
		return fmt.Errorf("resync %s: %w: %s", host, ErrRefused, reply.Error)
	}
	c, err := s.asm.Confirm(host, reply.Epoch, reply.Seq)
	if err != nil {
		return fmt.Errorf("resync %s: reply: %w", host, err)
	}
	if c != nil {
		s.emit(*c) // the resync just requested repairs it
	}
	return nil
}
