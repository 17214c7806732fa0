package snapshot

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// Epochs of host h1 in start-time order: an older run, the followed one
// (testEpoch), a forger's newer ones and a real restart.
const (
	olderEpoch   = "0000018c0a1b2c3c-ffffffff"
	forgedEpoch  = "0000018c0a1b2c3e-00000001"
	forgedEpoch2 = "0000018c0a1b2c3f-00000002"
	restartEpoch = "0000018c0a1b2c40-00000003"
)

// trustStep is one message (or Confirm) fed to the assembler and what it
// must do.
type trustStep struct {
	what   string
	do     func(w *wire, a *Assembler) (*Change, error)
	err    bool   // an error wrapping ErrMalformed, state untouched
	reason string // a Change asking for a resync with this reason
	none   bool   // no Change at all (duplicate, replay)
}

// feedAll feeds messages and returns the last non-nil change and the last
// error.
func feedAll(a *Assembler, msgs []Message) (*Change, error) {
	var last *Change
	var lastErr error
	for _, m := range msgs {
		c, err := a.Feed(m.Subject, m.Header, m.Data)
		if err != nil {
			lastErr = err
		}
		if c != nil {
			last = c
		}
	}
	return last, lastErr
}

// names lists a state's process names.
func names(s *Snapshot) []string {
	var out []string
	for _, p := range s.Processes {
		out = append(out, p.Name)
	}
	return out
}

// TestAssemblerRefusesForgedMessages plays the attacks of a client on the bus (any
// client may publish under the prefix) and checks that the subscriber never
// adopts a state the protocol rules out, keeps the last good state, asks
// for a resync, and takes the real agent's next messages.
func TestAssemblerRefusesForgedMessages(t *testing.T) {
	s1 := snap([]Process{proc(1, 1, "a")}, nil)
	s2 := snap([]Process{proc(1, 1, "a"), proc(2, 1, "b")}, nil)
	s3 := snap([]Process{proc(2, 1, "b"), proc(3, 1, "c")}, nil)
	fake := snap([]Process{proc(666, 1, "forged")}, nil)
	msg := func(epoch string, build func(w *wire) []Message) func(w *wire, a *Assembler) (*Change, error) {
		return func(w *wire, a *Assembler) (*Change, error) {
			w.epoch = epoch
			return feedAll(a, build(w))
		}
	}
	snapshotAt := func(epoch string, seq uint64, s *Snapshot) func(w *wire, a *Assembler) (*Change, error) {
		return msg(epoch, func(w *wire) []Message { return w.snapshot(seq, s) })
	}
	deltaAt := func(epoch string, seq, base uint64, from, to *Snapshot) func(w *wire, a *Assembler) (*Change, error) {
		return msg(epoch, func(w *wire) []Message { return w.delta(seq, base, Diff(from, to)) })
	}
	hbAt := func(epoch string, seq uint64) func(w *wire, a *Assembler) (*Change, error) {
		return msg(epoch, func(w *wire) []Message { return w.heartbeat(seq) })
	}
	confirm := func(epoch string, seq uint64) func(w *wire, a *Assembler) (*Change, error) {
		return func(_ *wire, a *Assembler) (*Change, error) { return a.Confirm("h1", epoch, seq) }
	}
	const far = 1_000_000_000
	tests := []struct {
		name       string
		steps      []trustStep
		wantNames  []string
		wantSeq    uint64
		wantEpoch  string
		wantSynced bool
	}{
		{name: "forged far-ahead delta on the right base is malformed",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "forged delta 1 -> 1e9+1", do: deltaAt(testEpoch, far+1, 1, s1, fake), err: true},
				{what: "real delta 1 -> 2", do: deltaAt(testEpoch, 2, 1, s1, s2)},
			},
			wantNames: []string{"a", "b"}, wantSeq: 2, wantEpoch: testEpoch, wantSynced: true},
		{name: "forged far-ahead delta on a far base is a gap",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "forged delta 1e9 -> 1e9+1", do: deltaAt(testEpoch, far+1, far, s1, fake), reason: "seq far ahead"},
				{what: "real delta 1 -> 2", do: deltaAt(testEpoch, 2, 1, s1, s2)},
			},
			wantNames: []string{"a", "b"}, wantSeq: 2, wantEpoch: testEpoch, wantSynced: true},
		{name: "forged far-ahead snapshot is a gap",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "forged snapshot 1e9", do: snapshotAt(testEpoch, far, fake), reason: "seq far ahead"},
				{what: "real delta 1 -> 2", do: deltaAt(testEpoch, 2, 1, s1, s2)},
			},
			wantNames: []string{"a", "b"}, wantSeq: 2, wantEpoch: testEpoch, wantSynced: true},
		{name: "forged next-seq delta is caught by the real one and resynced",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "forged delta 1 -> 2", do: deltaAt(testEpoch, 2, 1, s1, fake)},
				{what: "real delta 1 -> 2", do: deltaAt(testEpoch, 2, 1, s1, s2), reason: "conflicting message"},
				{what: "real delta 2 -> 3 waits for a base", do: deltaAt(testEpoch, 3, 2, s2, s3), reason: "no base state"},
				{what: "real resync snapshot", do: snapshotAt(testEpoch, 4, s3)},
			},
			wantNames: []string{"b", "c"}, wantSeq: 4, wantEpoch: testEpoch, wantSynced: true},
		{name: "forged snapshot of an older epoch is refused",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "forged older-epoch snapshot", do: snapshotAt(olderEpoch, 5, fake), reason: "older epoch"},
				{what: "real delta 1 -> 2", do: deltaAt(testEpoch, 2, 1, s1, s2)},
			},
			wantNames: []string{"a", "b"}, wantSeq: 2, wantEpoch: testEpoch, wantSynced: true},
		{name: "forged snapshot with a garbage epoch is malformed",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "forged garbage-epoch snapshot", do: snapshotAt("zzzz-not-an-epoch", 5, fake), err: true},
				{what: "forged epoch without its random part", do: snapshotAt("ffffffffffffffff", 5, fake), err: true},
				{what: "real delta 1 -> 2", do: deltaAt(testEpoch, 2, 1, s1, s2)},
			},
			wantNames: []string{"a", "b"}, wantSeq: 2, wantEpoch: testEpoch, wantSynced: true},
		{name: "lower heartbeat seq in the same epoch is a gap",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "real delta 1 -> 2", do: deltaAt(testEpoch, 2, 1, s1, s2)},
				{what: "heartbeat at seq 1", do: hbAt(testEpoch, 1), reason: "heartbeat behind"},
			},
			wantNames: []string{"a", "b"}, wantSeq: 2, wantEpoch: testEpoch},
		{name: "forged far-ahead state at join is undone by the agent's answer",
			steps: []trustStep{
				{what: "forged snapshot first", do: snapshotAt(testEpoch, far, fake)},
				{what: "real heartbeat", do: hbAt(testEpoch, 3), reason: "heartbeat behind"},
				{what: "the agent answers seq 3", do: confirm(testEpoch, 3), reason: "state ahead of the agent"},
				{what: "real resync snapshot", do: snapshotAt(testEpoch, 4, s3)},
			},
			wantNames: []string{"b", "c"}, wantSeq: 4, wantEpoch: testEpoch, wantSynced: true},
		{name: "forged newer epoch is undone by the agent's answer",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "forged newer-epoch snapshot", do: snapshotAt(forgedEpoch, 1, fake)},
				{what: "real heartbeat of the retired epoch", do: hbAt(testEpoch, 2), reason: "retired epoch still publishing"},
				{what: "the agent answers its epoch", do: confirm(testEpoch, 2), reason: "epoch not confirmed by the agent"},
				{what: "forged epoch again", do: hbAt(forgedEpoch, 2), reason: "retired epoch still publishing"},
				{what: "real resync snapshot", do: snapshotAt(testEpoch, 3, s2)},
				{what: "another forged newer epoch", do: snapshotAt(forgedEpoch2, 1, fake), reason: "unconfirmed new epoch"},
			},
			wantNames: []string{"a", "b"}, wantSeq: 3, wantEpoch: testEpoch, wantSynced: true},
		{name: "a suspect host follows a real restart once the agent confirms it",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "forged newer-epoch snapshot", do: snapshotAt(forgedEpoch, 1, fake)},
				{what: "the agent answers its epoch", do: confirm(testEpoch, 1), reason: "epoch not confirmed by the agent"},
				{what: "restart's snapshot, unconfirmed", do: snapshotAt(restartEpoch, 1, s2), reason: "unconfirmed new epoch"},
				{what: "the restarted agent answers", do: confirm(restartEpoch, 1), reason: "new epoch"},
				{what: "restart's resync snapshot", do: snapshotAt(restartEpoch, 2, s3)},
			},
			wantNames: []string{"b", "c"}, wantSeq: 2, wantEpoch: restartEpoch, wantSynced: true},
		{name: "a real restart is followed without asking",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "restart's snapshot", do: snapshotAt(restartEpoch, 1, s2)},
				{what: "replay of the old run", do: snapshotAt(testEpoch, 1, s1), none: true},
			},
			wantNames: []string{"a", "b"}, wantSeq: 1, wantEpoch: restartEpoch, wantSynced: true},
		{name: "a long real gap is closed with the agent's seq",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "real snapshot 500 states later", do: snapshotAt(testEpoch, 500, s2), reason: "seq far ahead"},
				{what: "the agent answers seq 500", do: confirm(testEpoch, 500), none: true},
				{what: "real resync snapshot", do: snapshotAt(testEpoch, 501, s3)},
			},
			wantNames: []string{"b", "c"}, wantSeq: 501, wantEpoch: testEpoch, wantSynced: true},
		{name: "a duplicate is ignored, an old seq far behind is a contradiction",
			steps: []trustStep{
				{what: "real snapshot", do: snapshotAt(testEpoch, 1, s1)},
				{what: "real delta 1 -> 2", do: deltaAt(testEpoch, 2, 1, s1, s2)},
				{what: "the same delta again", do: deltaAt(testEpoch, 2, 1, s1, s2), none: true},
				{what: "the agent answers seq 200", do: confirm(testEpoch, 200), none: true},
				{what: "snapshot 200", do: snapshotAt(testEpoch, 200, s3)},
				{what: "delta 3 far behind", do: deltaAt(testEpoch, 3, 2, s2, fake), reason: "seq behind"},
			},
			wantNames: []string{"b", "c"}, wantSeq: 200, wantEpoch: testEpoch, wantSynced: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWire(t, 0)
			a := newAssembler(t, AssemblerConfig{})
			for _, st := range tt.steps {
				before, _ := a.State("h1")
				c, err := st.do(w, a)
				switch {
				case st.err:
					if !errors.Is(err, ErrMalformed) {
						t.Fatalf("%s: error %v, want ErrMalformed", st.what, err)
					}
					if after, _ := a.State("h1"); after != before {
						t.Fatalf("%s: a malformed message changed the state", st.what)
					}
					continue
				case err != nil:
					t.Fatalf("%s: %v", st.what, err)
				case st.none:
					if c != nil {
						t.Fatalf("%s: change %+v, want none", st.what, c)
					}
					continue
				case c == nil:
					t.Fatalf("%s: no change", st.what)
				case c.NeedResync != (st.reason != "") || c.Reason != st.reason:
					t.Fatalf("%s: resync %v reason %q, want reason %q", st.what, c.NeedResync, c.Reason, st.reason)
				}
				if st.reason != "" && c.State != before {
					t.Fatalf("%s: refused message replaced the state", st.what)
				}
			}
			got, ok := a.State("h1")
			info, _ := a.Info("h1")
			if !ok || !slices.Equal(names(got), tt.wantNames) {
				t.Fatalf("state %v, want processes %v", names(got), tt.wantNames)
			}
			if info.Seq != tt.wantSeq || info.Epoch != tt.wantEpoch || info.Synced != tt.wantSynced {
				t.Fatalf("info epoch %s seq %d synced %v, want %s %d %v", info.Epoch, info.Seq, info.Synced, tt.wantEpoch, tt.wantSeq, tt.wantSynced)
			}
		})
	}
}

func TestEpochOrder(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		valid bool
		cmp   int
	}{
		{"same", testEpoch, testEpoch, true, 0},
		{"later start is newer", restartEpoch, testEpoch, true, 1},
		{"earlier start is older", olderEpoch, testEpoch, true, -1},
		{"same start, random part decides", "0000018c0a1b2c3d-00000000", testEpoch, true, -1},
		{"upper-case hex is not an epoch", "0000018C0A1B2C3D-1F2E3D4C", testEpoch, false, 0},
		{"missing random part", "0000018c0a1b2c3d", testEpoch, false, 0},
		{"a token that is no epoch", "e1", testEpoch, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ValidEpoch(tt.a) != tt.valid {
				t.Fatalf("ValidEpoch(%q) = %v", tt.a, !tt.valid)
			}
			if !tt.valid {
				if _, err := ParseEpoch(tt.a); !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseEpoch(%q) error %v, want ErrMalformed", tt.a, err)
				}
				return
			}
			if got := CompareEpochs(tt.a, tt.b); got != tt.cmp {
				t.Fatalf("CompareEpochs = %d, want %d", got, tt.cmp)
			}
		})
	}
}

func TestNewEpochSortsByStartTime(t *testing.T) {
	start := time.Date(2026, 11, 25, 22, 47, 4, 123456789, time.UTC)
	earlier := NewEpoch(start)
	later := NewEpoch(start.Add(time.Nanosecond))
	if !ValidEpoch(earlier) || !ValidToken(earlier) {
		t.Fatalf("NewEpoch gave %q, not a valid epoch token", earlier)
	}
	if CompareEpochs(later, earlier) != 1 {
		t.Fatalf("epoch of a later start %s does not sort after %s", later, earlier)
	}
	got, err := ParseEpoch(earlier)
	if err != nil || !got.Equal(start) {
		t.Fatalf("ParseEpoch(%s) = %v, %v, want %v", earlier, got, err, start)
	}
}

// TestConfirmRejectsBadInput checks Confirm's argument checks.
func TestConfirmRejectsBadInput(t *testing.T) {
	a := newAssembler(t, AssemblerConfig{})
	tests := []struct {
		name, host, epoch string
	}{
		{"host with a dot", "h.1", testEpoch},
		{"garbage epoch", "h1", "e1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := a.Confirm(tt.host, tt.epoch, 1); err == nil {
				t.Fatal("Confirm accepted it")
			}
		})
	}
}

// TestRefusedHeartbeatChangesNoInfo checks that a heartbeat refused as
// behind the held state, which may be a forger's, leaves the host's name,
// interval, last scan time and stats as they were: a scan time in 2099
// taken from it would stay for good, since the last scan only moves
// forward.
func TestRefusedHeartbeatChangesNoInfo(t *testing.T) {
	a := newAssembler(t, AssemblerConfig{})
	w := newWire(t, 0)
	feed(t, a, w.snapshot(1, synth(3, 3, 1)))
	feed(t, a, w.snapshot(2, synth(3, 3, 2)))
	before, _ := a.Info(w.host)
	env := w.env(1, 0)
	env.Hostname, env.IntervalMS, env.ScanTime = "forged.example", 1e12, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	msgs, err := w.enc.EncodeHeartbeat(env, &Stats{Processes: 99999})
	if err != nil {
		t.Fatal(err)
	}
	c := feed(t, a, msgs)
	if c == nil || c.Reason != "heartbeat behind" {
		t.Fatalf("the heartbeat behind gave %+v", c)
	}
	after, _ := a.Info(w.host)
	if after.Hostname != before.Hostname || after.Interval != before.Interval || !after.LastScan.Equal(before.LastScan) ||
		after.Refused != before.Refused+1 || (after.Stats != nil && after.Stats.Processes == 99999) {
		t.Errorf("a refused heartbeat changed the host's info:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestMadeUpHostsDoNotLockOut fills MaxHosts with host ids that only ever
// sent a heartbeat, as a forger may: a real host's snapshot still gets in,
// in the place of the made-up id seen first. Hosts that have a state are
// never dropped for a new one.
func TestMadeUpHostsDoNotLockOut(t *testing.T) {
	a := newAssembler(t, AssemblerConfig{MaxHosts: 8})
	forged := newWire(t, 0)
	for i := range 8 {
		forged.host = fmt.Sprintf("made-up-%d", i)
		feed(t, a, forged.heartbeat(1))
	}
	real := newWire(t, 0)
	real.host = "real"
	s := synth(3, 3, 1)
	if c := feed(t, a, real.snapshot(1, s)); c == nil || c.NeedResync {
		t.Fatalf("the real host's snapshot gave %+v", c)
	}
	got, ok := a.State("real")
	if !ok {
		t.Fatal("the real host has no state")
	}
	assertSameState(t, got, s)
	if _, ok := a.Info("made-up-0"); ok {
		t.Error("the made-up id seen first is still tracked")
	}
	if _, ok := a.Info("made-up-1"); !ok {
		t.Error("the made-up id seen second was dropped too")
	}

	full := newAssembler(t, AssemblerConfig{MaxHosts: 2})
	for i := range 2 {
		w := newWire(t, 0)
		w.host = fmt.Sprintf("h%d", i)
		feed(t, full, w.snapshot(1, synth(2, 2, uint64(i))))
	}
	w := newWire(t, 0)
	w.host = "third"
	for _, m := range w.snapshot(1, synth(2, 2, 9)) {
		if _, err := full.Feed(m.Subject, m.Header, m.Data); err == nil {
			t.Fatal("a third host got in where both tracked hosts have a state")
		}
	}
}

// TestFutureDeltasCapped sends deltas that wait for a base no one will
// send, under made-up host ids, as a forger may: the deltas buffered across
// hosts stay within MaxFutureBytes, and the account matches what the hosts
// hold; once a host's buffer is dropped with its host, the account is
// given back.
func TestFutureDeltasCapped(t *testing.T) {
	const limit = 256 << 10
	a := newAssembler(t, AssemblerConfig{MaxFutureBytes: limit})
	big := synth(400, 0, 1)
	for h := range 40 {
		w := newWire(t, 0)
		w.host = fmt.Sprintf("made-up-%d", h)
		for i := range 4 {
			base := uint64(10 * (i + 1))
			feed(t, a, w.delta(base+1, base, &Delta{Added: big.Processes}))
		}
	}
	held, kept := int64(0), 0
	for _, hs := range a.hosts {
		for _, f := range hs.future {
			held += f.size
			kept++
		}
	}
	if held > limit || held != a.futureBytes || kept == 0 {
		t.Errorf("%d deltas buffered, %d bytes (accounted %d), want within %d and some", kept, held, a.futureBytes, limit)
	}
	for h := range 40 {
		a.Forget(fmt.Sprintf("made-up-%d", h))
	}
	if a.futureBytes != 0 {
		t.Errorf("%d bytes of buffered deltas still accounted after their hosts were forgotten", a.futureBytes)
	}
}

// TestCapsCountClosedAndAddresses sends a state of no process and no
// socket that carries many short connections and addresses: they count
// as sockets against the caps, so a host cannot hold what the caps rule
// out through them. The fleet totals stay the sum of the hosts' states
// through deltas and heartbeats (which drop the short connections), in
// place or not.
func TestCapsCountClosedAndAddresses(t *testing.T) {
	many := &Snapshot{Processes: []Process{}, Sockets: []Socket{},
		Closed:    make([]Connection, 40),
		Addresses: []NetNSAddrs{{NetNSID: 1, Addrs: make([]Addr, 40)}}}
	for i := range many.Closed {
		many.Closed[i] = Connection{Proto: "tcp", Cookie: uint64(i + 1)}
	}
	for i := range many.Addresses[0].Addrs {
		many.Addresses[0].Addrs[i] = Addr{IP: fmt.Sprintf("10.0.0.%d", i+1), PrefixLen: 8, Interface: "eth0"}
	}
	a := newAssembler(t, AssemblerConfig{MaxSockets: 10, MaxTotalSockets: 10})
	w := newWire(t, 0)
	refused := false
	for _, m := range w.snapshot(1, many) {
		_, err := a.Feed(m.Subject, m.Header, m.Data)
		refused = refused || errors.Is(err, ErrMalformed)
	}
	if !refused {
		t.Error("a state of 40 short connections and 40 addresses was not refused under caps of 10 sockets")
	}
	if _, ok := a.State(w.host); ok {
		t.Error("the host holds the state")
	}

	for _, inPlace := range []bool{false, true} {
		a := newAssembler(t, AssemblerConfig{InPlace: inPlace})
		w := newWire(t, 0)
		s1 := synth(5, 5, 1)
		s1.Closed, s1.Addresses = many.Closed[:3], many.Addresses
		feed(t, a, w.snapshot(1, s1))
		check := func(when string) {
			t.Helper()
			s, _ := a.State(w.host)
			if want := countsOf(s); a.procs != want.procs || a.socks != want.socks {
				t.Errorf("in place %v, %s: totals %d processes %d sockets, the state counts %d and %d", inPlace, when, a.procs, a.socks, want.procs, want.socks)
			}
		}
		check("after the snapshot")
		feed(t, a, w.heartbeat(1))
		check("after a heartbeat, which drops the short connections")
		feed(t, a, w.delta(2, 1, &Delta{Closed: many.Closed[:7], Addresses: []NetNSAddrs{{NetNSID: 2, Addrs: many.Addresses[0].Addrs[:2]}}}))
		check("after a delta with short connections and new addresses")
		feed(t, a, w.delta(3, 2, &Delta{}))
		check("after an empty delta")
	}
}

// TestOutOfSyncRefusesOldSnapshot: a forger records the agent's first
// snapshot, makes the host out of sync later with a heartbeat behind its
// state, and replays the recording. A snapshot further below the held
// state than the window is refused out of sync as in sync, so the state
// does not roll back 71 ticks; the agent's answer and its next snapshot
// repair the host.
func TestOutOfSyncRefusesOldSnapshot(t *testing.T) {
	a := newAssembler(t, AssemblerConfig{})
	w := newWire(t, 0)
	s := synth(3, 3, 1)
	recorded := w.snapshot(1, s)
	feed(t, a, recorded)
	for seq := uint64(2); seq <= 72; seq++ {
		feed(t, a, w.delta(seq, seq-1, &Delta{}))
	}
	if c := feed(t, a, w.heartbeat(5)); c == nil || c.Reason != "heartbeat behind" {
		t.Fatalf("the heartbeat behind gave %+v", c)
	}
	for _, m := range recorded {
		if _, err := a.Feed(m.Subject, m.Header, m.Data); err != nil {
			t.Fatal(err)
		}
	}
	if info, _ := a.Info(w.host); info.Seq != 72 || info.Synced {
		t.Fatalf("after the replayed snapshot of seq 1 the host holds seq %d, synced %v; want 72, out of sync", info.Seq, info.Synced)
	}
	if _, err := a.Confirm(w.host, w.epoch, 72); err != nil {
		t.Fatal(err)
	}
	feed(t, a, recorded)
	if info, _ := a.Info(w.host); info.Seq != 72 {
		t.Fatalf("after the agent's answer, the replayed snapshot made the host hold seq %d", info.Seq)
	}
	next := synth(3, 3, 2)
	feed(t, a, w.snapshot(73, next))
	got, _ := a.State(w.host)
	if info, _ := a.Info(w.host); info.Seq != 73 || !info.Synced {
		t.Fatalf("the agent's next snapshot left the host at seq %d, synced %v", info.Seq, info.Synced)
	}
	assertSameState(t, got, next)
}
