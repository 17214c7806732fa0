package snapshot

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

const testEpoch = "0000018c0a1b2c3d-1f2e3d4c"

// wire encodes messages the way a publisher does, numbering them.
type wire struct {
	t     testing.TB
	enc   *Encoder
	host  string
	epoch string
	msgID uint64
}

func newWire(t testing.TB, maxPayload int) *wire {
	t.Helper()
	enc, err := NewEncoder("proctag", maxPayload)
	if err != nil {
		t.Fatal(err)
	}
	return &wire{t: t, enc: enc, host: "h1", epoch: testEpoch}
}

func (w *wire) env(seq, base uint64) Envelope {
	w.msgID++
	return Envelope{HostID: w.host, Hostname: w.host + ".example", Epoch: w.epoch, Seq: seq, BaseSeq: base,
		ScanTime: time.Date(2026, 1, 1, 0, 0, int(seq), 0, time.UTC), IntervalMS: 10000, MsgID: w.msgID}
}

func (w *wire) snapshot(seq uint64, s *Snapshot) []Message {
	w.t.Helper()
	s.Host.HostID = w.host
	msgs, err := w.enc.EncodeSnapshot(w.env(seq, 0), s)
	if err != nil {
		w.t.Fatal(err)
	}
	return msgs
}

func (w *wire) delta(seq, base uint64, d *Delta) []Message {
	w.t.Helper()
	d.Host.HostID = w.host
	msgs, err := w.enc.EncodeDelta(w.env(seq, base), d)
	if err != nil {
		w.t.Fatal(err)
	}
	return msgs
}

func (w *wire) heartbeat(seq uint64) []Message {
	w.t.Helper()
	msgs, err := w.enc.EncodeHeartbeat(w.env(seq, 0), &Stats{Processes: 1})
	if err != nil {
		w.t.Fatal(err)
	}
	return msgs
}

func newAssembler(t *testing.T, cfg AssemblerConfig) *Assembler {
	t.Helper()
	a, err := NewAssembler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// feed feeds messages and returns the last non-nil change.
func feed(t *testing.T, a *Assembler, msgs []Message) *Change {
	t.Helper()
	var last *Change
	for _, m := range msgs {
		c, err := a.Feed(m.Subject, m.Header, m.Data)
		if err != nil {
			t.Fatalf("Feed %s: %v", m.Subject, err)
		}
		if c != nil {
			last = c
		}
	}
	return last
}

func TestAssemblerSnapshotDeltaHeartbeat(t *testing.T) {
	w := newWire(t, 0)
	a := newAssembler(t, AssemblerConfig{})
	s1 := snap([]Process{proc(1, 1, "a"), proc(2, 1, "b")}, []Socket{sock(9, 80, 1)})
	c := feed(t, a, w.snapshot(1, s1))
	if c == nil || c.NeedResync || c.Seq != 1 || len(c.State.Processes) != 2 {
		t.Fatalf("after snapshot: %+v", c)
	}
	s2 := snap([]Process{proc(2, 1, "b"), proc(3, 4, "c")}, []Socket{sock(9, 80, 1), sock(10, 81, 3)})
	s2.Host.HostID = "h1"
	c = feed(t, a, w.delta(2, 1, Diff(s1, s2)))
	if c == nil || c.NeedResync || c.Seq != 2 || c.Delta == nil {
		t.Fatalf("after delta: %+v", c)
	}
	got, ok := a.State("h1")
	if !ok {
		t.Fatal("no state for h1")
	}
	assertSameState(t, got, s2)
	c = feed(t, a, w.heartbeat(2))
	// The counts are the state's, whatever the body says (agents leave
	// them out).
	if c == nil || c.NeedResync || c.Stats == nil || c.Stats.Processes != 2 || c.Stats.Sockets != 2 {
		t.Fatalf("after heartbeat: %+v", c)
	}
	if st, _ := a.State("h1"); !st.Host.ScanTime.Equal(time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC)) {
		t.Fatalf("heartbeat did not move the scan time: %v", st.Host.ScanTime)
	}
	if hosts := a.Hosts(); len(hosts) != 1 || hosts[0] != "h1" {
		t.Fatalf("Hosts() = %v", hosts)
	}
}

func TestAssemblerChunksInAnyOrder(t *testing.T) {
	w := newWire(t, 4096)
	big := synth(300, 3000, 3)
	msgs := w.snapshot(1, big)
	if len(msgs) < 5 {
		t.Fatalf("want a chunked message, got %d chunks", len(msgs))
	}
	for _, m := range msgs {
		if m.Size() > 4096 {
			t.Fatalf("chunk of %d bytes exceeds the max payload", m.Size())
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	msgs = append(msgs, msgs[0], msgs[1]) // duplicates after completion start nothing
	a := newAssembler(t, AssemblerConfig{})
	c := feed(t, a, msgs)
	if c == nil || c.Seq != 1 {
		t.Fatalf("change %+v", c)
	}
	got, _ := a.State("h1")
	assertSameState(t, got, big)
}

func TestAssemblerResyncCases(t *testing.T) {
	s1 := snap([]Process{proc(1, 1, "a")}, nil)
	s2 := snap([]Process{proc(1, 1, "a"), proc(2, 1, "b")}, nil)
	s3 := snap([]Process{proc(2, 1, "b")}, nil)
	for _, s := range []*Snapshot{s1, s2, s3} {
		s.Host.HostID = "h1"
	}
	tests := []struct {
		name       string
		run        func(w *wire, a *Assembler) *Change
		wantResync string
		wantSeq    uint64
		wantState  *Snapshot
	}{
		{name: "a delta before any snapshot asks to join",
			run:        func(w *wire, a *Assembler) *Change { return feed(t, a, w.delta(2, 1, Diff(s1, s2))) },
			wantResync: "joined"},
		{name: "a heartbeat before any snapshot asks to join",
			run:        func(w *wire, a *Assembler) *Change { return feed(t, a, w.heartbeat(3)) },
			wantResync: "joined"},
		{name: "a lost delta is a gap",
			run: func(w *wire, a *Assembler) *Change {
				feed(t, a, w.snapshot(1, s1))
				w.delta(2, 1, Diff(s1, s2)) // lost
				return feed(t, a, w.delta(3, 2, Diff(s2, s3)))
			},
			wantResync: "gap", wantSeq: 1, wantState: s1},
		{name: "a heartbeat ahead of the state is a gap",
			run: func(w *wire, a *Assembler) *Change {
				feed(t, a, w.snapshot(1, s1))
				w.delta(2, 1, Diff(s1, s2)) // lost
				return feed(t, a, w.heartbeat(2))
			},
			wantResync: "gap", wantSeq: 1, wantState: s1},
		{name: "the resync snapshot closes the gap and buffered deltas after it apply",
			run: func(w *wire, a *Assembler) *Change {
				feed(t, a, w.snapshot(1, s1))
				d2 := w.delta(2, 1, Diff(s1, s2))
				d3 := w.delta(3, 2, Diff(s2, s3))
				feed(t, a, d3)
				return feed(t, a, d2)
			},
			wantSeq: 3, wantState: s3},
		{name: "a new epoch's heartbeat asks for its state and keeps the old one",
			run: func(w *wire, a *Assembler) *Change {
				feed(t, a, w.snapshot(1, s1))
				w.epoch = "0000018c0a1b2c3e-00000000"
				return feed(t, a, w.heartbeat(1))
			},
			wantResync: "new epoch", wantSeq: 1, wantState: s1},
		{name: "the old epoch's replays are ignored once the new one has a snapshot",
			run: func(w *wire, a *Assembler) *Change {
				first := w.snapshot(1, s1)
				feed(t, a, first)
				w.epoch = "0000018c0a1b2c3e-00000000"
				feed(t, a, w.snapshot(1, s3))
				if c := feed(t, a, first); c != nil {
					t.Errorf("replayed old-epoch snapshot changed something: %+v", c)
				}
				return feed(t, a, w.heartbeat(1))
			},
			wantSeq: 1, wantState: s3},
		{name: "a message of the old epoch after the new one's snapshot asks the agent",
			run: func(w *wire, a *Assembler) *Change {
				feed(t, a, w.snapshot(1, s1))
				late := w.delta(2, 1, Diff(s1, s2))
				w.epoch = "0000018c0a1b2c3e-00000000"
				feed(t, a, w.snapshot(1, s3))
				return feed(t, a, late)
			},
			wantResync: "retired epoch still publishing", wantSeq: 1, wantState: s3},
		{name: "a replayed snapshot is ignored",
			run: func(w *wire, a *Assembler) *Change {
				first := w.snapshot(1, s1)
				feed(t, a, first)
				feed(t, a, w.delta(2, 1, Diff(s1, s2)))
				if c := feed(t, a, first); c != nil {
					t.Errorf("replayed snapshot changed something: %+v", c)
				}
				return feed(t, a, w.heartbeat(2))
			},
			wantSeq: 2, wantState: s2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWire(t, 0)
			a := newAssembler(t, AssemblerConfig{})
			c := tt.run(w, a)
			if c == nil {
				t.Fatal("no change from the last message")
			}
			if c.NeedResync != (tt.wantResync != "") || c.Reason != tt.wantResync {
				t.Fatalf("NeedResync %v reason %q, want reason %q", c.NeedResync, c.Reason, tt.wantResync)
			}
			if c.Seq != tt.wantSeq {
				t.Fatalf("seq %d, want %d", c.Seq, tt.wantSeq)
			}
			got, ok := a.State("h1")
			if tt.wantState == nil {
				if ok {
					t.Fatalf("unexpected state %+v", got)
				}
				return
			}
			if !ok {
				t.Fatal("no state")
			}
			got2 := *got
			got2.Host = tt.wantState.Host
			assertSameState(t, &got2, tt.wantState)
		})
	}
}

func TestAssemblerRejectsMalformed(t *testing.T) {
	w := newWire(t, 0)
	good := w.snapshot(1, snap([]Process{proc(1, 1, "a")}, nil))[0]
	with := func(edit func(m *Message)) Message {
		m := Message{Subject: good.Subject, Header: map[string][]string{}, Data: bytes.Clone(good.Data)}
		for k, v := range good.Header {
			m.Header[k] = append([]string(nil), v...)
		}
		edit(&m)
		return m
	}
	bomb := func() Message {
		zenc, _ := zstd.NewWriter(nil)
		raw := bytes.Repeat([]byte{' '}, 4<<20)
		return with(func(m *Message) {
			m.Data = zenc.EncodeAll(raw, nil)
			m.Header[HeaderEncoding] = []string{EncodingZstd}
			m.Header[HeaderSize] = []string{"100"}
		})
	}
	tests := []struct {
		name string
		msg  Message
	}{
		{"unknown subject", with(func(m *Message) { m.Subject = "other.v1.h1.snapshot" })},
		{"subject and header host differ", with(func(m *Message) { m.Subject = "proctag.v1.h2.snapshot" })},
		{"subject and header kind differ", with(func(m *Message) { m.Subject = "proctag.v1.h1.delta" })},
		{"missing epoch", with(func(m *Message) { delete(m.Header, HeaderEpoch) })},
		{"other wire version", with(func(m *Message) { m.Header[HeaderVersion] = []string{"2"} })},
		{"negative seq", with(func(m *Message) { m.Header[HeaderSeq] = []string{"-1"} })},
		{"chunk index past count", with(func(m *Message) { m.Header[HeaderChunk] = []string{"1"} })},
		{"unknown encoding", with(func(m *Message) { m.Header[HeaderEncoding] = []string{"gzip"} })},
		{"truncated body", with(func(m *Message) { m.Data = m.Data[:len(m.Data)/2] })},
		{"size header lies", with(func(m *Message) { m.Header[HeaderSize] = []string{"3"} })},
		{"body over the cap", with(func(m *Message) { m.Header[HeaderSize] = []string{"999999999999"} })},
		{"zstd bomb", bomb()},
		{"garbage zstd", with(func(m *Message) { m.Header[HeaderEncoding] = []string{EncodingZstd} })},
		{"snapshot of another host", with(func(m *Message) {
			m.Data = bytes.Replace(m.Data, []byte(`"host_id":"h1"`), []byte(`"host_id":"h2"`), 1)
		})},
		{"process listed twice", with(func(m *Message) {
			body := []byte(`{"host":{"host_id":"h1"},"processes":[{"pid":1,"start_time":1},{"pid":1,"start_time":1}]}`)
			m.Data = body
			m.Header[HeaderSize] = []string{strconv.Itoa(len(body))}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAssembler(t, AssemblerConfig{MaxBodyBytes: 1 << 20})
			_, err := a.Feed(tt.msg.Subject, tt.msg.Header, tt.msg.Data)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Feed error = %v, want ErrMalformed", err)
			}
			if _, ok := a.State("h1"); ok {
				t.Fatal("a malformed message produced a state")
			}
		})
	}
}

func TestEncoderCompressesOnlyWhenItSaves(t *testing.T) {
	w := newWire(t, 0)
	small := w.heartbeat(1)
	if got, ok := small[0].Header[HeaderEncoding]; ok {
		t.Fatalf("heartbeat encoding %s, want none (identity)", got)
	}
	big := w.snapshot(1, synth(200, 2000, 4))
	if got := big[0].Header[HeaderEncoding][0]; got != EncodingZstd {
		t.Fatalf("snapshot encoding %s, want zstd", got)
	}
}

// TestAssemblerCapsHostState checks that a host's state cannot grow past
// MaxProcesses or MaxSockets, through a snapshot or through deltas: the
// message is refused, the host resynced, and its last good state kept.
func TestAssemblerCapsHostState(t *testing.T) {
	w := newWire(t, 0)
	a := newAssembler(t, AssemblerConfig{MaxProcesses: 3, MaxSockets: 2})
	s1 := snap([]Process{proc(1, 1, "a"), proc(2, 1, "b")}, []Socket{sock(9, 80, 1)})
	if c := feed(t, a, w.snapshot(1, s1)); c == nil || c.NeedResync {
		t.Fatalf("snapshot within the limits: %+v", c)
	}
	s2 := snap([]Process{proc(1, 1, "a"), proc(2, 1, "b"), proc(3, 1, "c"), proc(4, 1, "d")}, []Socket{sock(9, 80, 1)})
	s2.Host.HostID = "h1"
	for name, msgs := range map[string][]Message{
		"delta":    w.delta(2, 1, Diff(s1, s2)),
		"snapshot": w.snapshot(3, s2),
	} {
		var c *Change
		var err error
		for _, m := range msgs {
			c, err = a.Feed(m.Subject, m.Header, m.Data)
		}
		if !errors.Is(err, ErrMalformed) || c == nil || !c.NeedResync || c.Reason != "state too large" {
			t.Errorf("%s over the process limit: change %+v, error %v", name, c, err)
		}
		got, _ := a.State("h1")
		assertSameState(t, got, s1)
	}
}

// TestAssemblerFleetLimit checks MaxTotalSockets across hosts: a snapshot
// or a delta that would take the total over the cap is refused with
// ErrFleetLimit, its host's state dropped (freeing its share) and no resync
// asked, while the other hosts keep theirs; once the others shrink, the
// host's next full snapshot fits.
func TestAssemblerFleetLimit(t *testing.T) {
	a := newAssembler(t, AssemblerConfig{MaxTotalSockets: 4})
	w1, w2 := newWire(t, 0), newWire(t, 0)
	w2.host = "h2"
	procs := []Process{proc(1, 1, "a")}
	three := snap(procs, []Socket{sock(9, 80, 1), sock(10, 81, 1), sock(11, 82, 1)})
	two := snap(procs, []Socket{sock(20, 80, 1), sock(21, 81, 1)})
	if c := feed(t, a, w1.snapshot(1, three)); c == nil || c.Reason != "" || c.Seq != 1 {
		t.Fatalf("h1's first snapshot: %+v", c)
	}
	overLimit := func(what string, msgs []Message, host string) {
		t.Helper()
		var c *Change
		var err error
		for _, m := range msgs {
			c, err = a.Feed(m.Subject, m.Header, m.Data)
		}
		if !errors.Is(err, ErrFleetLimit) || c == nil || c.NeedResync || c.Reason != "fleet limit" || c.State != nil {
			t.Fatalf("%s: change %+v, error %v; want the state dropped for the fleet limit, no resync", what, c, err)
		}
		if info, _ := a.Info(host); info.Synced {
			t.Fatalf("%s: %s still in sync", what, host)
		}
		if st, ok := a.State("h1"); !ok || len(st.Sockets) != 3 {
			t.Fatalf("%s: h1's state changed: %v", what, st)
		}
	}
	// 3 + 2 sockets > 4: h2's snapshot does not fit.
	overLimit("h2's snapshot", w2.snapshot(1, two), "h2")

	// h2 with one socket fits (3 + 1); a delta adding a second does not.
	one := snap(procs, []Socket{sock(20, 80, 1)})
	if c := feed(t, a, w2.snapshot(2, one)); c == nil || c.Reason != "" || c.State == nil {
		t.Fatalf("h2's snapshot within the cap: %+v", c)
	}
	one.Host.HostID, two.Host.HostID = "h2", "h2"
	overLimit("h2's delta", w2.delta(3, 2, Diff(one, two)), "h2")

	// h1 shrinks to one socket: h2's next full snapshot fits again.
	single := snap(procs, []Socket{sock(9, 80, 1)})
	three.Host.HostID, single.Host.HostID = "h1", "h1"
	if c := feed(t, a, w1.delta(2, 1, Diff(three, single))); c == nil || c.Reason != "" {
		t.Fatalf("h1's delta: %+v", c)
	}
	if c := feed(t, a, w2.snapshot(4, two)); c == nil || c.Reason != "" || len(c.State.Sockets) != 2 {
		t.Fatalf("h2's snapshot after h1 shrank: %+v", c)
	}
	a.Forget("h2")
	if c := feed(t, a, w1.snapshot(3, three)); c == nil || c.Reason != "" {
		t.Fatalf("h1 back to three sockets once h2 is forgotten: %+v", c)
	}
}

// TestAssemblerInPlace feeds one message sequence (snapshots, deltas in and
// out of order, a lost delta and the resync snapshot after it, heartbeats)
// to an assembler that copies and to one that applies in place, and checks
// after each message that both hold the same state, report the same seq,
// sync and resync reasons, and that a consumer of the in-place changes
// (keeping Change.State, applying Change.Delta to its copy otherwise) holds
// that state too.
func TestAssemblerInPlace(t *testing.T) {
	w := newWire(t, 4096) // chunks, too
	copying := newAssembler(t, AssemblerConfig{})
	inPlace := newAssembler(t, AssemblerConfig{InPlace: true})
	noCopies := newAssembler(t, AssemblerConfig{InPlace: true, NoStateCopies: true})
	states := []*Snapshot{synth(40, 300, 1)}
	for i := 1; i < 12; i++ { // seq i+1
		states = append(states, churn(states[i-1], 3, uint64(i)))
	}
	for _, s := range states {
		s.Host.HostID = "h1"
	}
	type message struct {
		kind Kind
		seq  uint64
		msgs []Message
	}
	list := []message{{KindSnapshot, 1, w.snapshot(1, states[0])}}
	for i := 1; i < len(states); i++ {
		list = append(list, message{KindDelta, uint64(i + 1), w.delta(uint64(i+1), uint64(i), Diff(states[i-1], states[i]))})
		if i%3 == 0 {
			list = append(list, message{KindHeartbeat, uint64(i + 1), w.heartbeat(uint64(i + 1))})
		}
	}
	// Deliver delta 4 after the heartbeat of its seq (a gap first), lose
	// delta 8, so that deltas 9 to 12 wait for their base, and resync with a
	// snapshot of seq 10, after which the buffered deltas 11 and 12 apply.
	list[3], list[4] = list[4], list[3]
	list = slices.DeleteFunc(list, func(m message) bool { return m.kind == KindDelta && m.seq == 8 })
	list = append(list, message{KindSnapshot, 10, w.snapshot(10, states[9])})
	var msgs [][]Message
	for _, m := range list {
		msgs = append(msgs, m.msgs)
	}

	var mine *Snapshot
	for i, m := range msgs {
		cc := feed(t, copying, m)
		ci := feed(t, inPlace, m)
		cn := feed(t, noCopies, m)
		if cc == nil || ci == nil || cn == nil {
			t.Fatalf("message %d: changes %v, %v and %v", i, cc, ci, cn)
		}
		if cc.Seq != ci.Seq || cc.NeedResync != ci.NeedResync || cc.Reason != ci.Reason || cc.HasState != ci.HasState || (cc.State != nil) != ci.HasState {
			t.Fatalf("message %d: copying %+v, in place %+v", i, cc, ci)
		}
		if cn.Seq != ci.Seq || cn.NeedResync != ci.NeedResync || cn.Reason != ci.Reason || cn.HasState != ci.HasState || cn.State != nil || (cn.Delta == nil) != (ci.Delta == nil) {
			t.Fatalf("message %d: in place %+v, without state copies %+v", i, ci, cn)
		}
		switch {
		case ci.State != nil:
			mine = ci.State
		case ci.Delta != nil && mine != nil:
			if err := ci.Delta.ApplyInPlace(mine); err != nil {
				t.Fatalf("message %d: the consumer's copy: %v", i, err)
			}
		case ci.Kind == KindHeartbeat && !ci.NeedResync && mine != nil:
			// The same state, scanned again: WIRE.md's heartbeat rule.
			info, _ := inPlace.Info("h1")
			mine.Host.ScanTime, mine.Closed, mine.ClosedDropped = info.LastScan, nil, 0
		}
		want, _ := copying.State("h1")
		got, _ := inPlace.State("h1")
		if want == nil {
			continue
		}
		assertSameState(t, got, want)
		noCopies.View("h1", func(s *Snapshot, _ HostInfo) { assertSameState(t, s, want) })
		if ii, _ := inPlace.Info("h1"); ii.Synced {
			assertSameState(t, mine, want)
		}
	}
	got, _ := inPlace.State("h1")
	assertSameState(t, got, states[11])
	assertSameState(t, mine, states[11])
}
