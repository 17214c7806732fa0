package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/proctag/proctag/agent/snapshot"
)

// Publisher publishes one host's states. Submit may be called from any
// goroutine; Run owns the connection and must be called once.
type Publisher struct {
	cfg    Config
	logger hclog.Logger
	epoch  string
	now    func() time.Time // the clock of the resync rate limit; tests replace it

	mu          sync.Mutex
	latest      *snapshot.Snapshot
	latestStats snapshot.Stats
	fresh       bool // latest has not been published yet
	// sending is the state Run is publishing, base what prev is (the
	// state the next delta is computed against): with latest, the
	// states the publisher may still read (see Holds).
	sending, base *snapshot.Snapshot

	errMu          sync.Mutex
	lastConnectErr string
	connectErrs    int

	wake      chan struct{}
	link      link          // cancels JetStream requests when the connection is lost
	needFull  atomic.Bool   // after (re)connect or a failed publish
	resyncReq atomic.Bool   // a control request asked for a full snapshot
	seqNow    atomic.Uint64 // the last seq numbered, for control replies

	bytes, msgs, reconnects, errs, resyncs atomic.Uint64
	lastFullBytes                          atomic.Int64

	// Owned by Run.
	nc         *nats.Conn
	enc        *snapshot.Encoder
	js         *jetStream
	seq, msgID uint64
	prev       *snapshot.Snapshot
	hbStats    snapshot.HeartbeatStats // what the heartbeats sent of the stats
	// deltasSinceFull counts the deltas sent since the last full snapshot
	// (periodicFull).
	deltasSinceFull int
	// fullRetries counts the full snapshots the stream did not store that
	// made the next state go in full again, and is cleared when one is
	// stored: a stream that stays away costs maxFullRetries extra full
	// snapshots, and one that comes back a moment late (a store that
	// failed again as the stream was made anew) still gets one.
	fullRetries int
	lastFull    time.Time // when the last full snapshot was sent, for any reason
}

// New checks cfg and returns a publisher with a new epoch. It does not
// connect; Run does.
func New(cfg Config, logger hclog.Logger) (*Publisher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if !snapshot.ValidToken(cfg.HostID) {
		return nil, fmt.Errorf("publish: host id %q is not a NATS subject token (use HostID to sanitise it)", cfg.HostID)
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Publisher{
		cfg:    cfg,
		logger: logger.Named("publish").With("host_id", cfg.HostID),
		epoch:  snapshot.NewEpoch(time.Now()),
		now:    time.Now,
		wake:   make(chan struct{}, 1),
	}, nil
}

// Epoch returns this publisher's epoch: its start time first, so that a
// subscriber takes a later start for the newer run (snapshot.CompareEpochs).
func (p *Publisher) Epoch() string { return p.epoch }

// Submit hands over the state of one tick and its stats. It never blocks:
// an unpublished earlier state is replaced. s must not be modified after.
// s goes out as it is: its host record is the caller's, with the host id
// of Config.HostID (a state of another host is refused and counted as a
// publish error) and, by convention, the epoch of Epoch. Its scan time
// goes out in UTC, as WIRE.md has every time (a shallow copy is sent when
// it is in another zone).
func (p *Publisher) Submit(s *snapshot.Snapshot, st snapshot.Stats) {
	if s.Host.HostID != p.cfg.HostID {
		if p.errs.Add(1) == 1 || p.logger.IsDebug() {
			p.logger.Error("state of another host refused", "state_host_id", s.Host.HostID, "errors_so_far", p.errs.Load())
		}
		return
	}
	if s.Host.ScanTime.Location() != time.UTC {
		cp := *s
		cp.Host.ScanTime = cp.Host.ScanTime.UTC()
		s = &cp
	}
	p.mu.Lock()
	if p.fresh && p.latest != nil && (len(p.latest.Closed) > 0 || p.latest.ClosedDropped > 0) {
		s = carryClosed(p.latest, s)
	}
	p.latest, p.latestStats, p.fresh = s, st, true
	p.mu.Unlock()
	p.signal()
}

// maxCarriedClosed bounds the closed connections that states replaced
// before they were published hand on to the next one.
const maxCarriedClosed = 100_000

// carryClosed returns next with the closed connections of prev, a state
// that is replaced before it was published, in front of its own: they
// happened, and no other message will say so. Beyond maxCarriedClosed the
// oldest are counted in ClosedDropped. next is not modified: the result
// is a shallow copy.
func carryClosed(prev, next *snapshot.Snapshot) *snapshot.Snapshot {
	cp := *next
	closed := make([]snapshot.Connection, 0, len(prev.Closed)+len(next.Closed))
	closed = append(append(closed, prev.Closed...), next.Closed...)
	cp.ClosedDropped += prev.ClosedDropped
	if over := len(closed) - maxCarriedClosed; over > 0 {
		closed = closed[over:]
		cp.ClosedDropped += over
	}
	cp.Closed = closed
	return &cp
}

func (p *Publisher) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// AddCounters fills the fields of st that the publisher owns: published
// bytes and messages, last full size, reconnects, publish errors, resync
// requests. Safe for concurrent use.
func (p *Publisher) AddCounters(st *snapshot.Stats) {
	st.PublishedBytes = p.bytes.Load()
	st.PublishedMessages = p.msgs.Load()
	st.LastFullBytes = p.lastFullBytes.Load()
	st.Reconnects = p.reconnects.Load()
	st.PublishErrors = p.errs.Load()
	st.ResyncRequests = p.resyncs.Load()
}

// Run connects (retrying forever, at most ReconnectWaitMax apart, while
// the server is down), answers control requests and publishes submitted
// states until ctx is done; then it drains the connection and returns nil.
// It returns an error only for a configuration the NATS client rejects (bad
// URL, unreadable credentials).
func (p *Publisher) Run(ctx context.Context) error {
	auth, err := p.cfg.authOptions()
	if err != nil {
		return err
	}
	closed := make(chan struct{})
	opts := append(auth,
		nats.Name("proctag "+p.cfg.HostID),
		// Replies to this agent's requests (JetStream acknowledgements and
		// API answers) come under its own inbox prefix, so that its
		// permissions can allow subscribing to _INBOX.<host_id>.> only.
		nats.CustomInboxPrefix(InboxPrefix(p.cfg.HostID)),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1), // nothing is buffered while away; a full snapshot follows the reconnect
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			return reconnectDelay(attempts, p.cfg.ReconnectWaitMax, rand.Int64N)
		}),
		nats.DrainTimeout(p.cfg.DrainTimeout),
		nats.ConnectHandler(func(*nats.Conn) { p.connected(false) }),
		nats.ReconnectHandler(func(*nats.Conn) { p.connected(true) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			p.link.down()
			if err != nil {
				p.logger.Warn("nats disconnected, reconnecting", "error", err)
			}
		}),
		nats.ReconnectErrHandler(p.connectFailed),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
	)
	nc, err := nats.Connect(p.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("publish: connect to %s: %w", p.cfg.URL, err)
	}
	p.nc = nc
	if !nc.IsConnected() { // the ConnectHandler fires once it is
		p.logger.Warn("nats server unreachable, retrying in the background", "url", p.cfg.URL)
	}
	for _, subj := range []string{snapshot.ControlSubject(p.cfg.SubjectPrefix, p.cfg.HostID), snapshot.BroadcastControlSubject(p.cfg.SubjectPrefix)} {
		sub, err := nc.Subscribe(subj, p.control)
		if err != nil {
			nc.Close()
			return fmt.Errorf("publish: subscribe %s: %w", subj, err)
		}
		// A flood of requests is dropped by the client beyond this, instead
		// of queueing without bound; the full snapshot they ask for is
		// rate limited anyway.
		if err := sub.SetPendingLimits(controlPendingMsgs, controlPendingMsgs*snapshot.MaxControlRequestBytes); err != nil {
			nc.Close()
			return fmt.Errorf("publish: subscribe %s: %w", subj, err)
		}
	}
	if p.cfg.JetStream {
		p.js = newJetStream(nc, p.cfg, p.logger)
	}

	var resyncTimer *time.Timer
	var resyncC <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if resyncTimer != nil {
				resyncTimer.Stop()
			}
			return p.drain(nc, closed)
		case <-resyncC:
			resyncC = nil
		case <-p.wake:
		}
		wait, full := p.publish(ctx)
		if full && p.cfg.AfterFull != nil {
			p.cfg.AfterFull()
		}
		if wait > 0 && resyncC == nil {
			resyncTimer = time.NewTimer(wait)
			resyncC = resyncTimer.C
		}
	}
}

// connected runs on the client's callback goroutine after the first connect
// and every reconnect. After a reconnect the next publish is a full
// snapshot; after the first connect it is anyway (nothing published yet), and
// the callback may run late, after that first snapshot went out.
func (p *Publisher) connected(reconnect bool) {
	p.link.up()
	p.errMu.Lock()
	p.lastConnectErr = "" // the next outage is logged again
	p.errMu.Unlock()
	if reconnect {
		p.reconnects.Add(1)
		p.logger.Info("nats reconnected, sending a full snapshot")
		p.needFull.Store(true)
	}
	p.signal()
}

// connectFailed logs a failed (re)connect attempt when its reason differs
// from the last one logged, so an outage or a refused credential is
// reported once, not at every backoff step.
func (p *Publisher) connectFailed(_ *nats.Conn, err error) {
	if err == nil {
		return
	}
	p.errMu.Lock()
	defer p.errMu.Unlock()
	p.connectErrs++
	if msg := err.Error(); msg != p.lastConnectErr {
		p.lastConnectErr = msg
		p.logger.Warn("nats connect attempt failed, retrying with backoff", "error", err, "attempts_failed", p.connectErrs)
	}
}

// drain flushes what is pending (closing at once when the connection is
// down) and waits until the client has closed.
func (p *Publisher) drain(nc *nats.Conn, closed <-chan struct{}) error {
	if err := nc.Drain(); err != nil {
		nc.Close()
	}
	// The closed handler is the client's last callback: once it ran, none
	// (a late disconnect warning) runs after Run returns. The bound only
	// guards against a client that never calls it.
	select {
	case <-closed:
	case <-time.After(p.cfg.DrainTimeout + 5*time.Second):
		p.logger.Warn("nats connection did not report its close", "waited", p.cfg.DrainTimeout+5*time.Second)
	}
	return nil
}

// controlPendingMsgs bounds the control requests queued in the client.
const controlPendingMsgs = 256

// InboxPrefix is the inbox prefix of the agent of hostID: replies to its
// requests arrive on subjects under "<prefix>.>", which its NATS
// permissions allow it to subscribe to (agent/deploy/nats).
func InboxPrefix(hostID string) string { return "_INBOX." + hostID }

// control answers a request on the host's or the broadcast control subject.
// Every resync request is answered at once and merged into one pending
// flag: publish sends at most one full snapshot per ResyncMinGap, however
// many subscribers ask (WIRE.md, "Trust").
func (p *Publisher) control(m *nats.Msg) {
	var req snapshot.ControlRequest
	reply := snapshot.ControlReply{HostID: p.cfg.HostID, Epoch: p.epoch, Seq: p.seqNow.Load()}
	var err error
	if len(m.Data) <= snapshot.MaxControlRequestBytes {
		err = json.Unmarshal(m.Data, &req)
	}
	switch {
	case len(m.Data) > snapshot.MaxControlRequestBytes:
		reply.Error = fmt.Sprintf("request of %d bytes exceeds the limit of %d", len(m.Data), snapshot.MaxControlRequestBytes)
	case err != nil:
		reply.Error = "request is not JSON: " + err.Error()
	case req.Op == snapshot.OpResync:
		reply.OK = true
		p.resyncs.Add(1)
		p.resyncReq.Store(true)
		p.signal()
	default:
		reply.Error = fmt.Sprintf("unknown op %q (want %q)", req.Op, snapshot.OpResync)
	}
	if m.Reply == "" {
		return
	}
	b, _ := json.Marshal(reply)
	_ = m.Respond(b) // a requester that went away is not our problem
}

// publish sends what the latest state calls for. It returns how long to wait
// before a resync request may be served, or 0, and whether it was a full
// snapshot.
func (p *Publisher) publish(ctx context.Context) (time.Duration, bool) {
	p.mu.Lock()
	s, st, fresh := p.latest, p.latestStats, p.fresh
	p.sending = s
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.sending = nil
		p.mu.Unlock()
	}()
	if s == nil || !p.nc.IsConnected() {
		return 0, false // nothing to send yet, or nowhere to send it: the reconnect brings a full snapshot
	}
	now := p.now()
	kind, resyncWait := decide(sendState{
		NeedFull: p.needFull.Load(), HasPrev: p.prev != nil, Fresh: fresh,
		ResyncRequested: p.resyncReq.Load(), LastFull: p.lastFull, ResyncMinGap: p.cfg.ResyncMinGap,
	}, now)
	if kind == sendNothing {
		return resyncWait, false
	}
	if p.cfg.OnPublish != nil {
		start, errs := time.Now(), p.errs.Load()
		defer func() { p.cfg.OnPublish(time.Since(start), p.errs.Load() == errs) }()
	}
	p.mu.Lock()
	if p.latest == s {
		p.fresh = false
	}
	p.mu.Unlock()
	state := s
	d := (*snapshot.Delta)(nil)
	if kind == sendChange {
		d = snapshot.Diff(p.prev, state)
		if !d.Empty() && periodicFull(p.deltasSinceFull, p.cfg.FullEvery) {
			kind = sendFull
		}
	}
	if kind == sendFull {
		p.needFull.Store(false)
		p.resyncReq.Store(false) // this full snapshot answers every request so far
		p.lastFull = now
		p.sendFull(ctx, state)
		return 0, true
	}
	if d.Empty() && sameHost(p.prev.Host, state.Host) {
		p.setPrev(state)
		st.Processes, st.Sockets = len(state.Processes), state.NumSockets()
		p.AddCounters(&st)
		msgs, err := p.enc.EncodeHeartbeatStats(p.envelope(state, p.seq, 0), &st, &p.hbStats)
		p.send(ctx, listed(msgs), err, snapshot.KindHeartbeat)
		return resyncWait, false
	}
	p.seq++
	p.seqNow.Store(p.seq)
	msgs, err := p.enc.EncodeDelta(p.envelope(state, p.seq, p.seq-1), d)
	if p.send(ctx, listed(msgs), err, snapshot.KindDelta) {
		p.setPrev(state)
		p.deltasSinceFull++
	}
	return resyncWait, false
}

// setPrev makes s the state the next delta is computed against.
func (p *Publisher) setPrev(s *snapshot.Snapshot) {
	p.prev = s
	p.mu.Lock()
	p.base = s
	p.mu.Unlock()
}

// Holds reports whether the publisher may still read socks, the sockets
// of a state it was given (Submit): they are those of the state it
// publishes next, of the one it is publishing, or of the last one it
// published, against which the next delta is computed. Once false for
// the sockets of a state, it stays false: the publisher takes up only
// the newest state. The agent lets the pipeline write a tick's sockets
// into a slice the publisher no longer holds (pipeline RecycleSockets).
func (p *Publisher) Holds(socks []snapshot.SocketRow) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range [...]*snapshot.Snapshot{p.latest, p.sending, p.base} {
		if s != nil && sameArray(s.SocketRows, socks) {
			return true
		}
	}
	return false
}

// sameArray reports whether a and b share their backing array.
func sameArray[T any](a, b []T) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:cap(a)][cap(a)-1] == &b[:cap(b)][cap(b)-1]
}

// sameHost reports whether two host records differ at most in their scan
// time: a heartbeat carries only that (and no hostname or interval), so
// any other change of the host record goes out as a delta.
func sameHost(a, b snapshot.Host) bool {
	a.ScanTime = b.ScanTime
	return a == b
}

// envelope is the metadata of one message carrying s: the host id and the
// epoch are this publisher's (its subjects), the rest is s's host record.
func (p *Publisher) envelope(s *snapshot.Snapshot, seq, base uint64) snapshot.Envelope {
	p.msgID++
	return snapshot.Envelope{HostID: p.cfg.HostID, Hostname: s.Host.Hostname, Epoch: p.epoch, Seq: seq, BaseSeq: base,
		ScanTime: s.Host.ScanTime, IntervalMS: s.Host.IntervalMS, MsgID: p.msgID}
}

// maxFullRetries is how many states in a row go in full again while the
// stream does not store the full snapshots (see sendFull).
const maxFullRetries = 3

func (p *Publisher) sendFull(ctx context.Context, state *snapshot.Snapshot) {
	if err := p.ensureEncoder(); err != nil {
		p.failed(err, snapshot.KindSnapshot)
		return
	}
	p.seq++
	p.seqNow.Store(p.seq)
	st, err := p.enc.StreamSnapshot(p.envelope(state, p.seq, 0), state)
	if err != nil {
		p.failed(err, snapshot.KindSnapshot)
		return
	}
	out := streamed(st)
	ok, stored := false, false
	if p.js != nil {
		ok = p.js.publishFull(p.link.context(), out, p.cfg.HostID)
		stored = ok
	}
	if !ok && p.send(ctx, out, nil, snapshot.KindSnapshot) {
		ok = true
	} else if ok {
		p.count(out)
	}
	if ok {
		if p.js != nil && !stored && p.fullRetries < maxFullRetries {
			// Sent on core NATS only: subscribers that follow the stream
			// miss it until a gap makes them ask. The next state goes in
			// full again, a few times at most, for the stream to store
			// when it is back.
			p.needFull.Store(true)
			p.fullRetries++
		} else if stored {
			p.fullRetries = 0
		}
		p.setPrev(state)
		p.deltasSinceFull = 0
		p.lastFullBytes.Store(out.bytes)
		// A subscriber that joins starts from a full snapshot: the next
		// heartbeats bring it every field of the stats.
		p.hbStats.RepeatAll()
	}
}

// maxChunkBytes caps a message (headers plus data) below the server's max
// payload on core NATS: the client keeps a buffer as large as the largest
// message it sent, and the server (the embedded one is in the agent's
// process) reads each message whole, so a full snapshot in 1 MiB messages
// kept about 2 MiB more resident than in these. A stream's messages are
// not capped: its max_msgs_per_subject counts a full snapshot's chunks,
// and an operator sizes it for chunks of its max_msg_size.
const maxChunkBytes = 256 << 10

// ensureEncoder (re)creates the encoder for the server's max payload, which
// is known once connected and may change after a reconnect, capped at
// maxChunkBytes without JetStream, else at the stream's max message size
// when that is smaller.
func (p *Publisher) ensureEncoder() error {
	maxPayload := int(p.nc.MaxPayload())
	if p.js == nil {
		maxPayload = min(maxPayload, maxChunkBytes)
	} else if limit := p.js.maxMsgSize(p.link.context()); limit > 0 && limit < maxPayload {
		maxPayload = limit
	}
	if p.enc != nil && p.enc.MaxPayload() == maxPayload {
		return nil
	}
	enc, err := snapshot.NewEncoder(p.cfg.SubjectPrefix, maxPayload)
	if err != nil {
		return err
	}
	p.enc = enc
	return nil
}

// send publishes msgs and flushes; on failure the next publish is full.
func (p *Publisher) send(ctx context.Context, out outgoing, encErr error, kind snapshot.Kind) bool {
	if encErr != nil {
		p.failed(encErr, kind)
		return false
	}
	if p.enc == nil {
		p.failed(errors.New("no encoder"), kind)
		return false
	}
	acked := kind == snapshot.KindDelta && out.n == 1 && p.js != nil && p.js.usable()
	err := out.each(func(msg *snapshot.Message) error {
		m := &nats.Msg{Subject: msg.Subject, Header: nats.Header(msg.Header), Data: msg.Data}
		if acked {
			f, err := p.js.js.PublishMsgAsync(m)
			if err == nil {
				go p.watchAck(ctx, f)
				return nil
			}
		}
		return p.nc.PublishMsg(m)
	})
	if err != nil {
		p.failed(err, kind)
		return false
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.nc.FlushWithContext(fctx); err != nil {
		p.failed(err, kind)
		return false
	}
	p.count(out)
	return true
}

// outgoing is what one publish sends: its messages, handed out in order by
// each (whose Data is valid only during the call, see
// snapshot.SnapshotStream.Each), their count, and their size as NATS counts
// it (headers plus data).
type outgoing struct {
	each  func(func(*snapshot.Message) error) error
	n     int
	bytes int64
}

// listed returns the outgoing of msgs.
func listed(msgs []snapshot.Message) outgoing {
	out := outgoing{n: len(msgs), each: func(fn func(*snapshot.Message) error) error {
		for i := range msgs {
			if err := fn(&msgs[i]); err != nil {
				return err
			}
		}
		return nil
	}}
	for i := range msgs {
		out.bytes += int64(msgs[i].Size())
	}
	return out
}

// streamed returns the outgoing of a full snapshot, compressed again as
// it is sent.
func streamed(st *snapshot.SnapshotStream) outgoing {
	return outgoing{each: st.Each, n: st.Messages(), bytes: st.Bytes()}
}

// deltaAckWait is how long a delta's acknowledgement by the stream may take
// before the delta counts as not stored.
const deltaAckWait = 5 * time.Second

// watchAck waits for the stream's acknowledgement of a delta. A delta the
// stream did not store leaves the subscribers that follow the stream behind
// until a later message shows them the gap; the next state goes in full
// instead, sent at once.
func (p *Publisher) watchAck(ctx context.Context, f jetstream.PubAckFuture) {
	t := time.NewTimer(deltaAckWait)
	defer t.Stop()
	var err error
	select {
	case <-f.Ok():
		return
	case err = <-f.Err():
	case <-t.C:
		err = errors.New("no acknowledgement")
	case <-ctx.Done():
		return
	}
	p.logger.Debug("delta not stored in the stream, the state goes in full", "error", err)
	p.needFull.Store(true)
	p.signal()
}

func (p *Publisher) count(out outgoing) {
	p.bytes.Add(uint64(out.bytes))
	p.msgs.Add(uint64(out.n))
}

func (p *Publisher) failed(err error, kind snapshot.Kind) {
	if p.errs.Add(1) == 1 || p.logger.IsDebug() {
		p.logger.Warn("publish failed, next state goes out in full", "kind", string(kind), "error", err, "errors_so_far", p.errs.Load())
	}
	p.needFull.Store(true)
}
