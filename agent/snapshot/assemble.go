package snapshot

import (
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// AssemblerConfig bounds what an Assembler accepts. The zero value of each
// field means its default.
type AssemblerConfig struct {
	// Prefix is the subject prefix the publishers use; default
	// DefaultSubjectPrefix.
	Prefix string
	// MaxBodyBytes caps one message's body, encoded and decoded (zip-bomb
	// guard); default 256 MiB.
	MaxBodyBytes int64
	// MaxChunks caps the chunks of one message; default 4096.
	MaxChunks int
	// MaxPending caps the incomplete chunked messages kept per host; the
	// oldest is dropped beyond it. Default 4.
	MaxPending int
	// MaxPendingBytes caps the chunks held by the incomplete messages of
	// all hosts together, with the slots each keeps for the chunks its
	// first chunk announced: the messages begun first are dropped to make
	// room (their hosts see a gap and resync). Default twice
	// MaxBodyBytes; negative = no cap.
	MaxPendingBytes int64
	// MaxFuture caps the deltas kept per host while waiting for their base
	// (out-of-order delivery); default 16.
	MaxFuture int
	// MaxFutureBytes caps the size (decoded) of the deltas kept across
	// hosts while waiting for their base: beyond it a delta is not kept,
	// and its host resyncs. Default MaxBodyBytes; negative = no cap.
	MaxFutureBytes int64
	// MaxHosts caps the hosts tracked; default 65536. At the cap, the
	// host made first of those that never had a state makes room for a
	// new one.
	MaxHosts int
	// MaxProcesses and MaxSockets cap one host's state, which deltas could
	// otherwise grow without bound: a snapshot or delta that would exceed
	// them is refused and the host resynced. A state's short connections
	// (Closed) and interface addresses count as sockets. Defaults 4,194,304 (Linux's
	// largest pid_max) and 16,777,216.
	MaxProcesses, MaxSockets int
	// MaxTotalProcesses and MaxTotalSockets cap the processes and sockets
	// (short connections and addresses with them) held across all hosts, which bounds the assembler's memory whatever
	// the fleet's size (a socket costs about 200 bytes held, a process
	// about 500). A snapshot or delta that would take a total over its cap
	// is refused: the host's state is dropped and the host stays out of
	// sync (Change.Reason "fleet limit", no resync asked) until a full
	// snapshot of it fits again. 0 = no cap.
	MaxTotalProcesses, MaxTotalSockets int
	// InPlace applies deltas to the hosts' states in place
	// (Delta.ApplyInPlace) instead of to copies, so that a delta costs
	// memory in proportion to what it changes, not to the host's state,
	// and the assembler holds one copy of each state. The assembler then
	// shares no state: Change.State is a copy of the receiver's own, given
	// only when the state was replaced rather than changed by exactly the
	// change's Delta (a full snapshot, buffered deltas applied at once); a
	// delta's or heartbeat's Change has State nil and HasState set, and
	// State returns a copy of the lists, which costs their size.
	InPlace bool
	// NoStateCopies, with InPlace, leaves Change.State nil even when a
	// state was replaced (Change.HasState says there is one): the
	// receiver reads it with View when it needs it, as FlowIndex.Follow
	// does, and the assembler makes no copy of each full snapshot for it.
	NoStateCopies bool
	// SeqWindow is how far a state message of the followed epoch may be
	// ahead of the highest seq the assembler knows for the host (its state's,
	// or the one the agent confirmed, see Confirm) and still be believed;
	// beyond it the message is a gap, not a new state. It also bounds how
	// far behind a message may be before it counts as a contradiction rather
	// than a replay. Default 64.
	SeqWindow uint64
}

// Change is what one fed message (or one Confirm) did to a host.
// NeedResync asks the caller to request a full snapshot from the host
// (Reason says why); the host's state is then unchanged or stale until one
// arrives. The reasons are listed in WIRE.md ("Trust"); they are stable
// strings.
type Change struct {
	HostID string
	// Kind is the fed message's kind; "" for a Change from Confirm.
	Kind  Kind
	Epoch string
	// Seq is the host's state seq after the message.
	Seq uint64
	// State is the host's current state after the message (nil when none
	// yet). It is shared and must not be modified. With
	// AssemblerConfig.InPlace it is the receiver's own copy, and set only
	// when the state was not changed by exactly Delta (see there).
	State *Snapshot
	// HasState reports whether the host has a state after the message,
	// which State does not tell with AssemblerConfig.InPlace.
	HasState bool
	// Delta is the delta the message carried, when it was applied.
	Delta *Delta
	// Stats is a heartbeat's body.
	Stats      *Stats
	NeedResync bool
	Reason     string
}

// HostInfo is the assembler's view of one host.
type HostInfo struct {
	HostID   string
	Hostname string
	Epoch    string
	// Seq is the seq of State.
	Seq uint64
	// Synced is false while the state is missing or stale (gap, new epoch,
	// a contradiction).
	Synced bool
	// Suspect is true once the host's agent, answering a control request,
	// contradicted what the bus said (a state or an epoch it never
	// published): from then on a new epoch of the host is followed only
	// after the agent confirms it.
	Suspect bool
	// Refused counts the host's messages that the trust rules refused
	// (WIRE.md, "Trust"); malformed messages are not counted here.
	Refused uint64
	// LastScan is the scan time of the last message seen from the host.
	LastScan time.Time
	// Interval is the host's tick interval.
	Interval time.Duration
	// Stats is the last heartbeat's body, nil before the first.
	Stats *Stats
}

// Assembler rebuilds hosts' states from wire messages: it joins chunks,
// decompresses with a size cap, applies deltas to the right base, ignores
// duplicates and retired epochs, refuses what the protocol rules out (WIRE.md,
// "Trust") and says when a resync is needed. It is pure (no NATS) and safe
// for concurrent use.
type Assembler struct {
	cfg  AssemblerConfig
	zdec *zstd.Decoder
	seed maphash.Seed

	mu    sync.Mutex
	hosts map[string]*hostState
	// procs and socks are the processes and sockets of every host's
	// state (MaxTotalProcesses, MaxTotalSockets).
	procs, socks int
	// chunks accounts the incomplete messages of every host
	// (MaxPendingBytes).
	chunks pendingChunks
	// futureBytes is the size of the deltas buffered across hosts
	// (MaxFutureBytes).
	futureBytes int64
	// made lists the host ids in the order their hosts were made, some
	// of them since given a state or forgotten (skipped): at MaxHosts the
	// first that never had a state makes room for a new host (see host).
	made []string
}

type hostState struct {
	info    HostInfo
	state   *Snapshot
	mark    epochMark   // what was seen of the followed epoch
	retired []epochMark // earlier epochs, newest last
	pending map[pendingKey]*partial
	chunks  *pendingChunks         // the Assembler's, which pending counts in
	future  map[uint64]futureDelta // by base seq
	// futureBytes is the Assembler's, which future counts in.
	futureBytes *int64
	recent      [recentDigests]digest // digests of the last applied states
	anchor      anchor                // the agent's last answer (Confirm)
	// statsEpoch is the epoch whose heartbeats info.Stats merges: a
	// heartbeat carries only some fields, the others keep their value.
	statsEpoch string
}

type futureDelta struct {
	env   Envelope
	delta *Delta
	sum   uint64
	size  int64 // of its body, decoded: what it counts in futureBytes
}

// keepFuture buffers f, a delta waiting for base, unless the deltas
// buffered across hosts would pass MaxFutureBytes with it: then it is not
// kept, and its host asks for a resync as it would without the buffer.
func (a *Assembler) keepFuture(hs *hostState, base uint64, f futureDelta) {
	if a.cfg.MaxFutureBytes > 0 && a.futureBytes+f.size > a.cfg.MaxFutureBytes {
		return
	}
	hs.dropFuture(base)
	hs.future[base] = f
	a.futureBytes += f.size
}

// dropFuture forgets the delta buffered for base, if any.
func (hs *hostState) dropFuture(base uint64) {
	if f, ok := hs.future[base]; ok {
		*hs.futureBytes -= f.size
		delete(hs.future, base)
	}
}

// clearFuture forgets every buffered delta.
func (hs *hostState) clearFuture() {
	for base := range hs.future {
		hs.dropFuture(base)
	}
}

// NewAssembler returns an empty assembler.
func NewAssembler(cfg AssemblerConfig) (*Assembler, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultSubjectPrefix
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 256 << 20
	}
	if cfg.MaxChunks <= 0 {
		cfg.MaxChunks = 4096
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 4
	}
	switch {
	case cfg.MaxPendingBytes == 0:
		cfg.MaxPendingBytes = 2 * cfg.MaxBodyBytes
	case cfg.MaxPendingBytes < 0:
		cfg.MaxPendingBytes = 0 // makeRoom's "no limit"
	}
	switch {
	case cfg.MaxFutureBytes == 0:
		cfg.MaxFutureBytes = cfg.MaxBodyBytes
	case cfg.MaxFutureBytes < 0:
		cfg.MaxFutureBytes = 0
	}
	if cfg.MaxFuture <= 0 {
		cfg.MaxFuture = 16
	}
	if cfg.MaxHosts <= 0 {
		cfg.MaxHosts = 65536
	}
	if cfg.MaxProcesses <= 0 {
		cfg.MaxProcesses = 1 << 22
	}
	if cfg.MaxSockets <= 0 {
		cfg.MaxSockets = 1 << 24
	}
	if cfg.SeqWindow == 0 {
		cfg.SeqWindow = 64
	}
	// One decoder for each message Decode may decompress at once.
	zdec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(min(runtime.GOMAXPROCS(0), 4)),
		zstd.WithDecoderMaxMemory(uint64(cfg.MaxBodyBytes)),
		zstd.WithDecoderMaxWindow(uint64(min(cfg.MaxBodyBytes, 64<<20))))
	if err != nil {
		return nil, fmt.Errorf("new assembler: %w", err)
	}
	return &Assembler{cfg: cfg, zdec: zdec, seed: maphash.MakeSeed(), hosts: map[string]*hostState{}}, nil
}

// Feed takes one raw message (subject, NATS headers, data), in any order.
// It returns nil and no error while a chunked message is incomplete or when
// the message is a duplicate, a replay or from a retired epoch. A malformed
// message returns an error wrapping ErrMalformed and leaves the state as it
// was; the Change returned beside an error, if any, asks for a resync. A
// message the trust rules refuse (WIRE.md, "Trust") leaves the last good
// state in place and returns a Change that asks for a resync. Feed does not
// keep data after it returns.
func (a *Assembler) Feed(subject string, header map[string][]string, data []byte) (*Change, error) {
	return a.FeedDecoded(a.envelope(subject, header, data))
}

// Decoded is a message as Decode leaves it for FeedDecoded: its subject and
// envelope read and, for a snapshot or delta in one chunk within the size
// limits, its body decompressed and decoded (a snapshot also validated and
// sorted). That work needs no state of the assembler's, so Decode runs on
// any goroutine, several at once, while FeedDecoded, which takes the
// messages in order, does only what depends on the hosts' states.
type Decoded struct {
	data []byte
	env  Envelope
	err  error // of the subject or envelope

	pre      bool // the fields below are set
	body     []byte
	bodyErr  error
	sum      uint64
	snap     *Snapshot
	delta    *Delta
	objErr   error // decoding snap or delta
	validErr error // snap's Validate
}

// envelope reads a message's subject and envelope.
func (a *Assembler) envelope(subject string, header map[string][]string, data []byte) *Decoded {
	d := &Decoded{data: data}
	host, kind, ok := ParseSubject(a.cfg.Prefix, subject)
	if !ok {
		d.err = fmt.Errorf("%w: subject %q is not a data subject under %q", ErrMalformed, subject, a.cfg.Prefix)
		return d
	}
	d.env, d.err = ParseMessageEnvelope(host, kind, header, len(data))
	if d.err != nil {
		d.err = fmt.Errorf("message on %s: %w", subject, d.err)
	}
	return d
}

// Decode does for one raw message what Feed would do before it looks at
// the hosts' states: read the subject and envelope and, for a snapshot or
// delta in one chunk within MaxBodyBytes, decompress and decode the body.
// It is safe for concurrent use and keeps data; FeedDecoded then takes the
// result, in the order Feed would have taken the messages, with the same
// outcome as Feed. Work on a message FeedDecoded then drops (a duplicate, a
// retired epoch) is lost.
func (a *Assembler) Decode(subject string, header map[string][]string, data []byte) *Decoded {
	d := a.envelope(subject, header, data)
	env := &d.env
	if d.err != nil || env.Kind == KindHeartbeat || env.Chunks != 1 ||
		env.Size > a.cfg.MaxBodyBytes || int64(len(data)) > a.cfg.MaxBodyBytes {
		return d
	}
	d.pre = true
	if d.body, d.bodyErr = a.decodeBody(env, data); d.bodyErr != nil {
		return d
	}
	d.sum = a.digest(env, d.body)
	if env.Kind == KindSnapshot {
		s := new(Snapshot)
		if d.objErr = decodeJSON(d.body, env.Kind, s); d.objErr == nil {
			d.snap = s
			if d.validErr = s.Validate(); d.validErr == nil {
				s.Sort()
			}
		}
		return d
	}
	dl := new(Delta)
	if d.objErr = decodeJSON(d.body, env.Kind, dl); d.objErr == nil {
		d.delta = dl
	}
	return d
}

// FeedDecoded is Feed for a message Decode (or Feed itself) read.
func (a *Assembler) FeedDecoded(d *Decoded) (*Change, error) {
	if d.err != nil {
		return nil, d.err
	}
	env, host := d.env, d.env.HostID
	a.mu.Lock()
	defer a.mu.Unlock()
	hs, err := a.host(host)
	if err != nil {
		return nil, err
	}
	if i := hs.retiredIndex(env.Epoch); i >= 0 && !hs.retired[i].newer(&env) {
		return nil, nil // an old message of a retired epoch
	}
	raw, complete, err := a.collect(hs, env, d.data)
	if err != nil || !complete {
		if err != nil {
			err = fmt.Errorf("message %d from host %s: %w", env.MsgID, host, err)
		}
		return nil, err
	}
	var body []byte
	if d.pre {
		body, err = d.body, d.bodyErr
	} else {
		body, err = a.decodeBody(&env, raw)
	}
	if err != nil {
		return a.resync(hs, env, "undecodable message"), fmt.Errorf("message %d from host %s: %w", env.MsgID, host, err)
	}
	v := a.judgeEpoch(hs, &env)
	switch {
	case v.refused:
		return a.refuse(hs, env, v.reason), nil
	case v.reason != "":
		return a.resync(hs, env, v.reason), nil
	}
	switch env.Kind {
	case KindSnapshot:
		return a.feedSnapshot(hs, env, body, d, v)
	case KindDelta:
		return a.feedDelta(hs, env, body, d, v)
	default:
		return a.feedHeartbeat(hs, env, body, v)
	}
}

// sumOf is the digest of the message's body.
func (d *Decoded) sumOf(a *Assembler, env *Envelope, body []byte) uint64 {
	if d.pre {
		return d.sum
	}
	return a.digest(env, body)
}

// host returns the state of host, created when new.
func (a *Assembler) host(host string) (*hostState, error) {
	hs := a.hosts[host]
	if hs == nil {
		if len(a.hosts) >= a.cfg.MaxHosts && !a.dropStateless() {
			return nil, fmt.Errorf("message from host %s: %d hosts tracked already", host, len(a.hosts))
		}
		hs = &hostState{info: HostInfo{HostID: host}, pending: map[pendingKey]*partial{}, chunks: &a.chunks, future: map[uint64]futureDelta{}, futureBytes: &a.futureBytes}
		a.hosts[host] = hs
		if len(a.made) > 2*len(a.hosts)+64 {
			a.made = slices.DeleteFunc(a.made, func(id string) bool { hs := a.hosts[id]; return hs == nil || hs.state != nil })
		}
		a.made = append(a.made, host)
	}
	return hs, nil
}

// dropStateless forgets the host made first of those that never had a
// state, and reports whether there was one: host ids made up by a forger
// (one heartbeat each) then cannot keep real hosts out once MaxHosts are
// tracked. A real host so dropped is made again at its next message.
func (a *Assembler) dropStateless() bool {
	for len(a.made) > 0 {
		id := a.made[0]
		a.made = a.made[1:]
		if hs := a.hosts[id]; hs != nil && hs.state == nil && hs.info.Seq == 0 {
			a.forget(id, hs)
			return true
		}
	}
	return false
}

// forget drops everything known about host hs.
func (a *Assembler) forget(host string, hs *hostState) {
	a.setState(hs, nil)
	for k := range hs.pending {
		hs.dropPending(k)
	}
	hs.clearFuture()
	delete(a.hosts, host)
}

func (hs *hostState) seen(env *Envelope) {
	if env.Hostname != "" {
		hs.info.Hostname = env.Hostname
	}
	if env.ScanTime.After(hs.info.LastScan) {
		hs.info.LastScan = env.ScanTime
	}
	if env.IntervalMS > 0 { // 0: left out, unchanged
		hs.info.Interval = time.Duration(env.IntervalMS) * time.Millisecond
	}
	if env.Epoch == hs.mark.epoch {
		hs.mark.advance(env)
	}
}

// change is the Change of a message to hs: with InPlace it carries no state
// (the message left it as it was, or changed it by the Delta the caller
// sets); see replaced.
func (a *Assembler) change(hs *hostState, env Envelope) *Change {
	c := &Change{HostID: hs.info.HostID, Kind: env.Kind, Epoch: hs.info.Epoch, Seq: hs.info.Seq, HasState: hs.state != nil}
	if !a.cfg.InPlace {
		c.State = hs.state
	}
	return c
}

// replaced is the Change of a message that replaced hs's state: with
// InPlace it carries a copy of the state for the receiver to keep, as the
// assembler changes its own in place.
func (a *Assembler) replaced(hs *hostState, env Envelope) *Change {
	c := a.change(hs, env)
	if a.cfg.InPlace && !a.cfg.NoStateCopies && hs.state != nil {
		c.State = hs.state.Clone()
	}
	return c
}

func (a *Assembler) resync(hs *hostState, env Envelope, reason string) *Change {
	c := a.change(hs, env)
	c.NeedResync, c.Reason = true, reason
	return c
}

// refuse counts a message the trust rules refused and asks for a resync;
// the state stays as it was.
func (a *Assembler) refuse(hs *hostState, env Envelope, reason string) *Change {
	hs.info.Refused++
	return a.resync(hs, env, reason)
}

func (a *Assembler) feedSnapshot(hs *hostState, env Envelope, body []byte, d *Decoded, v epochVerdict) (*Change, error) {
	sum := d.sumOf(a, &env, body)
	if !v.adopt {
		if c, done := a.judgeSeq(hs, env, sum); done {
			return c, nil
		}
	}
	s, err, validErr := d.snap, d.objErr, d.validErr
	if !d.pre {
		s = new(Snapshot)
		if err = decodeJSON(body, env.Kind, s); err == nil {
			validErr = s.Validate()
		}
	}
	if err != nil {
		return a.resync(hs, env, "undecodable snapshot"), fmt.Errorf("snapshot %d from host %s: %w", env.Seq, hs.info.HostID, err)
	}
	if s.Host.HostID != env.HostID {
		return a.resync(hs, env, "snapshot of another host"), fmt.Errorf("%w: snapshot %d on host %s's subject is for host %q", ErrMalformed, env.Seq, env.HostID, s.Host.HostID)
	}
	if validErr != nil {
		return a.resync(hs, env, "invalid snapshot"), fmt.Errorf("%w: snapshot %d from host %s: %w", ErrMalformed, env.Seq, env.HostID, validErr)
	}
	if err := a.checkSize(countsOf(s)); err != nil {
		return a.resync(hs, env, "state too large"), fmt.Errorf("snapshot %d from host %s: %w", env.Seq, env.HostID, err)
	}
	if !d.pre {
		s.Sort()
	}
	if v.adopt {
		hs.switchEpoch(env.Epoch)
	}
	hs.seen(&env)
	if !a.fits(hs, countsOf(s)) {
		return a.overLimit(hs, env), fmt.Errorf("snapshot %d from host %s: %w", env.Seq, env.HostID, a.limitErr(hs, countsOf(s)))
	}
	a.setState(hs, s)
	hs.info.Seq, hs.info.Synced = env.Seq, true
	hs.remember(env.Seq, sum)
	for base := range hs.future {
		if base < env.Seq {
			hs.dropFuture(base)
		}
	}
	a.applyFuture(hs)
	return a.replaced(hs, env), nil
}

func (a *Assembler) feedDelta(hs *hostState, env Envelope, body []byte, dec *Decoded, v epochVerdict) (*Change, error) {
	sum := dec.sumOf(a, &env, body)
	if !v.join {
		if c, done := a.judgeSeq(hs, env, sum); done {
			return c, nil
		}
	}
	d, err := dec.delta, dec.objErr
	if !dec.pre {
		d = new(Delta)
		err = decodeJSON(body, env.Kind, d)
	}
	if err != nil {
		return a.resync(hs, env, "undecodable delta"), fmt.Errorf("delta %d from host %s: %w", env.Seq, hs.info.HostID, err)
	}
	if d.Host.HostID != env.HostID {
		return a.resync(hs, env, "delta of another host"), fmt.Errorf("%w: delta %d on host %s's subject is for host %q", ErrMalformed, env.Seq, env.HostID, d.Host.HostID)
	}
	if v.join {
		hs.switchEpoch(env.Epoch)
		hs.seen(&env)
		a.keepFuture(hs, env.BaseSeq, futureDelta{env: env, delta: d, sum: sum, size: int64(len(body))})
		return a.resync(hs, env, "joined"), nil
	}
	hs.seen(&env)
	if !hs.info.Synced || env.BaseSeq != hs.info.Seq {
		if len(hs.future) < a.cfg.MaxFuture && (!hs.info.Synced || env.BaseSeq > hs.info.Seq) {
			a.keepFuture(hs, env.BaseSeq, futureDelta{env: env, delta: d, sum: sum, size: int64(len(body))})
		}
		if !hs.info.Synced {
			return a.resync(hs, env, "no base state"), nil
		}
		return a.resync(hs, env, "gap"), nil
	}
	if reason, err := a.applyDelta(hs, d); err != nil {
		err = fmt.Errorf("delta %d from host %s: %w", env.Seq, env.HostID, err)
		if reason == "fleet limit" {
			return a.overLimit(hs, env), err
		}
		hs.info.Synced = false
		return a.resync(hs, env, reason), err
	}
	hs.info.Seq = env.Seq
	hs.remember(env.Seq, sum)
	a.applyFuture(hs)
	c := a.change(hs, env)
	if hs.info.Seq != env.Seq {
		c = a.replaced(hs, env) // buffered deltas went on from it
	}
	c.Delta = d
	return c, nil
}

// ErrFleetLimit is returned (wrapped) by Feed when a host's state would take
// the processes or sockets held across hosts over MaxTotalProcesses or
// MaxTotalSockets.
var ErrFleetLimit = errors.New("fleet limit reached")

// counts are the processes and sockets of a state; socks counts its short
// connections and addresses too.
type counts struct{ procs, socks int }

func countsOf(s *Snapshot) counts {
	if s == nil {
		return counts{}
	}
	return counts{len(s.Processes), s.NumSockets() + extras(s.Closed, s.Addresses)}
}

// extras is what a state's short connections and addresses count as
// sockets: one each.
func extras(closed []Connection, addrs []NetNSAddrs) int {
	n := len(closed)
	for i := range addrs {
		n += 1 + len(addrs[i].Addrs)
	}
	return n
}

// fits reports whether a state of n in place of hs's keeps the totals
// within MaxTotalProcesses and MaxTotalSockets.
func (a *Assembler) fits(hs *hostState, n counts) bool {
	t := a.totalsWith(hs, n)
	return (a.cfg.MaxTotalProcesses <= 0 || t.procs <= a.cfg.MaxTotalProcesses) &&
		(a.cfg.MaxTotalSockets <= 0 || t.socks <= a.cfg.MaxTotalSockets)
}

// totalsWith returns the totals with a state of n in place of hs's.
func (a *Assembler) totalsWith(hs *hostState, n counts) counts {
	old := countsOf(hs.state)
	return counts{a.procs - old.procs + n.procs, a.socks - old.socks + n.socks}
}

// limitErr says which cap a state of n would break.
func (a *Assembler) limitErr(hs *hostState, n counts) error {
	t := a.totalsWith(hs, n)
	return fmt.Errorf("%w: %d processes and %d sockets across hosts, the caps are %d and %d (0 = none)",
		ErrFleetLimit, t.procs, t.socks, a.cfg.MaxTotalProcesses, a.cfg.MaxTotalSockets)
}

// setState makes s hs's state and keeps the totals.
func (a *Assembler) setState(hs *hostState, s *Snapshot) {
	t := a.totalsWith(hs, countsOf(s))
	a.procs, a.socks = t.procs, t.socks
	hs.state = s
}

// applyDelta applies d to hs's state, in place with InPlace, else to a copy
// that replaces it, within the per-host and the fleet caps. On an error the
// state is as it was and reason says why: "delta does not apply", "state
// too large" or "fleet limit".
func (a *Assembler) applyDelta(hs *hostState, d *Delta) (reason string, err error) {
	if !a.cfg.InPlace {
		next, err := d.Apply(hs.state)
		if err != nil {
			return "delta does not apply", err
		}
		if reason, err := a.within(hs, countsOf(next)); err != nil {
			return reason, err
		}
		a.setState(hs, next)
		return "", nil
	}
	pp, sp, err := d.plan(hs.state)
	if err != nil {
		return "delta does not apply", err
	}
	old := countsOf(hs.state)
	addrs := hs.state.Addresses
	if d.Addresses != nil {
		addrs = d.Addresses
	}
	n := counts{old.procs + len(d.Added) - len(d.Removed),
		old.socks + len(d.SocketsAdded) - len(d.SocketsRemoved) - extras(hs.state.Closed, hs.state.Addresses) + extras(d.Closed, addrs)}
	if reason, err := a.within(hs, n); err != nil {
		return reason, err
	}
	d.applyPlanned(hs.state, pp, sp)
	a.procs, a.socks = a.procs-old.procs+n.procs, a.socks-old.socks+n.socks
	return "", nil
}

// within checks a state of n for hs against the per-host caps and the
// fleet caps.
func (a *Assembler) within(hs *hostState, n counts) (reason string, err error) {
	if err := a.checkSize(n); err != nil {
		return "state too large", err
	}
	if !a.fits(hs, n) {
		return "fleet limit", a.limitErr(hs, n)
	}
	return "", nil
}

// overLimit drops hs's state, which a message would have taken over the
// fleet caps: the host is out of sync until a full snapshot fits. No
// resync is asked: the same snapshot would not fit either.
func (a *Assembler) overLimit(hs *hostState, env Envelope) *Change {
	a.setState(hs, nil)
	hs.info.Synced = false
	hs.clearFuture()
	c := a.change(hs, env)
	c.Reason = "fleet limit"
	return c
}

// checkSize refuses a host state of n over MaxProcesses or MaxSockets.
func (a *Assembler) checkSize(n counts) error {
	if n.procs > a.cfg.MaxProcesses || n.socks > a.cfg.MaxSockets {
		return fmt.Errorf("%w: %d processes and %d sockets exceed the limits of %d and %d",
			ErrMalformed, n.procs, n.socks, a.cfg.MaxProcesses, a.cfg.MaxSockets)
	}
	return nil
}

// applyFuture applies buffered deltas that now have their base.
func (a *Assembler) applyFuture(hs *hostState) {
	for {
		f, ok := hs.future[hs.info.Seq]
		if !ok {
			return
		}
		hs.dropFuture(hs.info.Seq)
		if reason, err := a.applyDelta(hs, f.delta); err != nil {
			if reason == "fleet limit" {
				a.overLimit(hs, f.env)
			}
			hs.info.Synced = false
			return
		}
		hs.info.Seq = f.env.Seq
		hs.remember(f.env.Seq, f.sum)
	}
}

func (a *Assembler) feedHeartbeat(hs *hostState, env Envelope, body []byte, v epochVerdict) (*Change, error) {
	// A heartbeat carries the fields that changed or are due again; the
	// others keep the value this epoch's earlier heartbeats gave them.
	st := new(Stats)
	if hs.info.Stats != nil && hs.statsEpoch == env.Epoch {
		*st = *hs.info.Stats
	}
	if err := decodeJSON(body, env.Kind, st); err != nil {
		return nil, fmt.Errorf("heartbeat from host %s: %w", hs.info.HostID, err)
	}
	reason, refused := "", false
	switch {
	case v.join:
		hs.switchEpoch(env.Epoch)
		reason = "joined"
	case !hs.info.Synced:
		reason = "no base state"
	case env.Seq > hs.info.Seq:
		reason = "gap"
	case env.Seq < hs.info.Seq:
		// The agent says its last state is older than the one held: the
		// held one is not the agent's, or states were lost and renumbered.
		hs.info.Synced = false
		hs.info.Refused++
		reason, refused = "heartbeat behind", true
	}
	if !refused {
		// A refused heartbeat may be a forger's: its host name, interval,
		// scan time and stats are not the host's.
		hs.seen(&env)
	}
	if reason == "" && hs.state != nil && env.Seq == hs.info.Seq {
		// The agent's state of this tick: the same but for its scan time,
		// and no short connections (Closed is per interval, not state).
		s := hs.state
		if !a.cfg.InPlace {
			c := *hs.state
			s = &c
		}
		a.socks -= len(s.Closed) // the totals count them
		s.Host.ScanTime = env.ScanTime
		s.Closed, s.ClosedDropped = nil, 0
		hs.state = s // the same other lists
		// The state's counts, which agents leave out of the body.
		st.Processes, st.Sockets = len(s.Processes), s.NumSockets()
	}
	if !refused {
		hs.info.Stats, hs.statsEpoch = st, env.Epoch
	}
	c := a.change(hs, env)
	c.Stats = st
	c.NeedResync, c.Reason = reason != "", reason
	return c, nil
}

// State returns the last complete state of host, shared and read-only (with
// InPlace, a copy of its lists), and whether there is one. It may be stale:
// see Info's Synced.
func (a *Assembler) State(host string) (*Snapshot, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	hs := a.hosts[host]
	if hs == nil || hs.state == nil {
		return nil, false
	}
	if a.cfg.InPlace {
		return hs.state.Clone(), true
	}
	return hs.state, true
}

// View calls fn with host's state and info while the assembler holds them
// still (no message is fed meanwhile), and reports whether the host has a
// state; fn must not keep the state (with InPlace, later messages change
// it) nor call the assembler. It reads a state without State's copy.
func (a *Assembler) View(host string, fn func(s *Snapshot, info HostInfo)) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	hs := a.hosts[host]
	if hs == nil || hs.state == nil {
		return false
	}
	fn(hs.state, hs.info)
	return true
}

// StateInfo returns State and Info of host together, as of one moment.
func (a *Assembler) StateInfo(host string) (*Snapshot, HostInfo, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	hs := a.hosts[host]
	if hs == nil || hs.state == nil {
		return nil, HostInfo{}, false
	}
	s := hs.state
	if a.cfg.InPlace {
		s = s.Clone()
	}
	return s, hs.info, true
}

// Info returns what the assembler knows about host.
func (a *Assembler) Info(host string) (HostInfo, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	hs := a.hosts[host]
	if hs == nil {
		return HostInfo{}, false
	}
	return hs.info, true
}

// Hosts returns the ids of the hosts that have a state, sorted.
func (a *Assembler) Hosts() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.hosts))
	for id, hs := range a.hosts {
		if hs.state != nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Forget drops everything known about host.
func (a *Assembler) Forget(host string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if hs := a.hosts[host]; hs != nil {
		a.forget(host, hs)
	}
}
