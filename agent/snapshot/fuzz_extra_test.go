package snapshot

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// seqChainLen is how many states each epoch of FuzzAssemblerSequence has.
const seqChainLen = 8

// seqEpochs are the three epochs of FuzzAssemblerSequence, oldest first.
var seqEpochs = [3]string{testEpoch, "0000018c0a1b2c3e-00000001", "0000018c0a1b2c3f-00000002"}

// seqCorpus is every message FuzzAssemblerSequence can feed, built once:
// per epoch e and seq i (1..seqChainLen), the agent's own snapshot, delta
// (on i-1) and heartbeat of state i of epoch e, and two forgeries claiming
// the same seq: a snapshot of other content and a delta computed against
// the wrong base. Each comes whole (one chunk) and split into chunks.
type seqCorpus struct {
	states [3][seqChainLen + 1]*Snapshot
	// msgs[e][i][kind][split] with kind one of the seqKind constants.
	msgs [3][seqChainLen + 1][seqKinds][2][]Message
}

const (
	seqSnapshot = iota
	seqDelta
	seqHeartbeat
	seqForgedSnapshot
	seqForgedDelta
	seqKinds
)

// seqState is state i of epoch e: a chain in which each state drops one
// process, changes one and adds one, so that every delta has all three,
// and whose processes are named after the epoch, so that states of two
// epochs never look alike.
func seqState(e, i int) *Snapshot {
	var procs []Process
	for k := i; k < i+12; k++ {
		p := proc(1000+k, int64(e+1), fmt.Sprintf("e%d-worker-%d-with-a-long-name-to-fill-chunks", e, k))
		// Random text, which zstd cannot shrink below a chunk.
		r := rand.New(rand.NewPCG(uint64(e), uint64(k)))
		p.Cmdline = fmt.Sprintf("%s --seq %d --token %x%x%x%x", p.Name, i, r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
		procs = append(procs, p)
	}
	return snap(procs, []Socket{sock(uint64(9000+e), 80, 1000+i)})
}

func newSeqCorpus(f *testing.F) *seqCorpus {
	c := &seqCorpus{}
	whole, split := newWire(f, 0), newWire(f, 1024)
	for e, epoch := range seqEpochs {
		whole.epoch, split.epoch = epoch, epoch
		for i := 0; i <= seqChainLen; i++ {
			c.states[e][i] = seqState(e, i)
		}
		for i := 1; i <= seqChainLen; i++ {
			for w, wr := range []*wire{whole, split} {
				forged := seqState((e+1)%3, i)
				m := &c.msgs[e][i]
				m[seqSnapshot][w] = wr.snapshot(uint64(i), copySnap(c.states[e][i]))
				m[seqDelta][w] = wr.delta(uint64(i), uint64(i-1), Diff(c.states[e][i-1], c.states[e][i]))
				m[seqHeartbeat][w] = wr.heartbeat(uint64(i))
				m[seqForgedSnapshot][w] = wr.snapshot(uint64(i), forged)
				m[seqForgedDelta][w] = wr.delta(uint64(i), uint64(i-1), Diff(c.states[e][0], c.states[e][i]))
			}
		}
	}
	if n := len(c.msgs[0][1][seqSnapshot][1]); n < 2 {
		f.Fatalf("the chunked encoding gives %d chunk(s) for a snapshot, want several", n)
	}
	return c
}

func copySnap(s *Snapshot) *Snapshot {
	cp := *s
	return &cp
}

// FuzzAssemblerSequence feeds the assembler a fuzzed sequence of messages
// (three bytes each) drawn from three epochs of one host: genuine
// snapshots, deltas and heartbeats in any order, duplicated, chunked,
// partly delivered or corrupted, forged snapshots and deltas, and the
// agent's answers (Confirm). It checks what must hold whatever arrives:
//   - no panic, and a message fed with an error leaves the state, epoch and
//     seq as they were;
//   - no message moves the followed epoch back (Confirm may: the agent's
//     word wins);
//   - no message fed in sync moves the seq back within an epoch;
//   - after every step, a state in sync is valid, is the host's, and, as long as nothing
//     forged or corrupt was fed, is exactly the state the agent published
//     at that epoch and seq.
//
// Each step is a byte op, a byte seq and a byte how:
//
//	op % 3          the epoch (oldest first)
//	op / 3 % 7      snapshot, delta, heartbeat, forged snapshot, forged
//	                delta, Confirm, corrupt snapshot
//	seq % 8 + 1     the seq
//	how % 4         all chunks in order, only one chunk, all in reverse
//	                order, all twice; how & 4 picks the chunked encoding
func FuzzAssemblerSequence(f *testing.F) {
	c := newSeqCorpus(f)
	step := func(epoch, op, seq, how int) []byte { return []byte{byte(op*3 + epoch), byte(seq - 1), byte(how)} }
	seq := func(steps ...[]byte) []byte { return slices.Concat(steps...) }
	// The agent's stream in order: a snapshot, then deltas and heartbeats.
	f.Add(seq(step(0, 0, 1, 0), step(0, 1, 2, 0), step(0, 2, 2, 0), step(0, 1, 3, 0), step(0, 1, 4, 4)))
	// Deltas ahead of their base, then the snapshot that fills the gap.
	f.Add(seq(step(0, 1, 3, 0), step(0, 1, 4, 0), step(0, 1, 2, 0), step(0, 0, 1, 0)))
	// A restart: epoch 1 after epoch 0, then an old epoch-0 message.
	f.Add(seq(step(0, 0, 1, 0), step(0, 1, 2, 0), step(1, 0, 1, 0), step(1, 1, 2, 0), step(0, 1, 3, 0)))
	// Chunked snapshots delivered in reverse, partly, and twice.
	f.Add(seq(step(0, 0, 2, 6), step(0, 0, 3, 5), step(0, 0, 3, 7), step(0, 1, 4, 4)))
	// A forged snapshot at the held seq, then the genuine next delta.
	f.Add(seq(step(0, 0, 1, 0), step(0, 3, 1, 0), step(0, 1, 2, 0), step(0, 0, 3, 0)))
	// A forged delta on the right base.
	f.Add(seq(step(0, 0, 1, 0), step(0, 4, 2, 0), step(0, 1, 3, 0)))
	// The agent confirms an older seq than the held one, then resyncs.
	f.Add(seq(step(0, 0, 5, 0), step(0, 5, 1, 0), step(0, 0, 6, 0), step(0, 1, 7, 0)))
	// A heartbeat behind the state, then a snapshot below it.
	f.Add(seq(step(0, 0, 4, 0), step(0, 2, 2, 0), step(0, 0, 3, 0), step(0, 1, 4, 0)))
	// A corrupt snapshot, then the genuine one.
	f.Add(seq(step(2, 6, 1, 0), step(2, 0, 1, 0), step(2, 1, 2, 0)))
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 3*64 {
			ops = ops[:3*64]
		}
		a, err := NewAssembler(AssemblerConfig{MaxChunks: 64, SeqWindow: 4})
		if err != nil {
			t.Fatal(err)
		}
		// b is fed the same messages through Decode and FeedDecoded, and
		// must do exactly what a does.
		b, err := NewAssembler(AssemblerConfig{MaxChunks: 64, SeqWindow: 4})
		if err != nil {
			t.Fatal(err)
		}
		tainted := false // something forged or corrupt was fed
		var where string
		// feed feeds one message and checks what one message may do.
		feed := func(m Message) {
			t.Helper()
			before, _ := a.Info("h1")
			beforeState, _ := a.State("h1")
			c, err := a.Feed(m.Subject, m.Header, m.Data)
			after, _ := a.Info("h1")
			state, _ := a.State("h1")
			cb, errb := b.FeedDecoded(b.Decode(m.Subject, m.Header, m.Data))
			sameDecodedFeed(t, where, a, b, c, cb, err, errb)
			if err != nil && (state != beforeState || after.Epoch != before.Epoch || after.Seq != before.Seq) {
				t.Fatalf("%s: error %v, but the host moved from %s/%d to %s/%d", where, err, before.Epoch, before.Seq, after.Epoch, after.Seq)
			}
			if before.Epoch != "" && CompareEpochs(after.Epoch, before.Epoch) < 0 {
				t.Fatalf("%s: followed epoch went back from %s to %s", where, before.Epoch, after.Epoch)
			}
			// Out of sync (a contradiction marked the state stale), an older
			// snapshot may repair it (WIRE.md, "Trust", rule 4); in sync,
			// never.
			if before.Synced && after.Epoch == before.Epoch && after.Seq < before.Seq {
				t.Fatalf("%s: in sync at seq %d, then seq %d in the same epoch", where, before.Seq, after.Seq)
			}
		}
		for n := 0; n+3 <= len(ops); n += 3 {
			e, op := int(ops[n])%3, int(ops[n])/3%7
			i, how := int(ops[n+1])%seqChainLen+1, int(ops[n+2])
			where = fmt.Sprintf("step %d (epoch %d op %d seq %d how %d)", n/3, e, op, i, how)
			switch op {
			case 5:
				// The agent's word wins, even over the epoch order.
				_, _ = a.Confirm("h1", seqEpochs[e], uint64(i))
				_, _ = b.Confirm("h1", seqEpochs[e], uint64(i))
			case 6:
				tainted = true
				for k, m := range c.msgs[e][i][seqSnapshot][how>>2&1] {
					if k == 0 {
						m.Data = slices.Clone(m.Data)
						m.Data[how%len(m.Data)] ^= byte(1 + how>>3)
					}
					feed(m)
				}
			default:
				tainted = tainted || op == seqForgedSnapshot || op == seqForgedDelta
				msgs := c.msgs[e][i][op][how>>2&1]
				var order []int
				switch how % 4 {
				case 0:
					order = seqRange(len(msgs))
				case 1:
					order = []int{how >> 3 % len(msgs)}
				case 2:
					order = seqRange(len(msgs))
					slices.Reverse(order)
				default:
					order = append(seqRange(len(msgs)), seqRange(len(msgs))...)
				}
				for _, k := range order {
					feed(msgs[k])
				}
			}
			after, _ := a.Info("h1")
			state, _ := a.State("h1")
			if !after.Synced {
				continue
			}
			if state == nil {
				t.Fatalf("%s: in sync at %s/%d without a state", where, after.Epoch, after.Seq)
			}
			if err := state.Validate(); err != nil || state.Host.HostID != "h1" {
				t.Fatalf("%s: invalid state (host %q): %v", where, state.Host.HostID, err)
			}
			ep := slices.Index(seqEpochs[:], after.Epoch)
			if ep < 0 || after.Seq < 1 || after.Seq > seqChainLen {
				t.Fatalf("%s: in sync at %s/%d, which no message carried", where, after.Epoch, after.Seq)
			}
			if d := Diff(c.states[ep][after.Seq], state); !tainted && !d.Empty() {
				t.Fatalf("%s: state at %s/%d differs from the agent's: %d processes added, %d changed, %d removed, %d sockets added, %d changed, %d removed",
					where, after.Epoch, after.Seq, len(d.Added), len(d.Changed), len(d.Removed), len(d.SocketsAdded), len(d.SocketsChanged), len(d.SocketsRemoved))
			}
		}
	})
}

// sameDecodedFeed fails t unless b, fed a message through Decode and
// FeedDecoded, answered (cb, errb) and holds what a, fed it by Feed,
// answered (c, err) and holds.
func sameDecodedFeed(t *testing.T, where string, a, b *Assembler, c, cb *Change, err, errb error) {
	t.Helper()
	if fmt.Sprint(err) != fmt.Sprint(errb) {
		t.Fatalf("%s: Feed says %v, Decode and FeedDecoded %v", where, err, errb)
	}
	if (c == nil) != (cb == nil) || (c != nil && (c.Kind != cb.Kind || c.Epoch != cb.Epoch || c.Seq != cb.Seq ||
		c.NeedResync != cb.NeedResync || c.Reason != cb.Reason || c.HasState != cb.HasState)) {
		t.Fatalf("%s: Feed's change %+v, Decode and FeedDecoded's %+v", where, c, cb)
	}
	ia, _ := a.Info("h1")
	ib, _ := b.Info("h1")
	if ia.Epoch != ib.Epoch || ia.Seq != ib.Seq || ia.Synced != ib.Synced || ia.Suspect != ib.Suspect || ia.Refused != ib.Refused {
		t.Fatalf("%s: after Feed %+v, after Decode and FeedDecoded %+v", where, ia, ib)
	}
	sa, _ := a.State("h1")
	sb, _ := b.State("h1")
	if (sa == nil) != (sb == nil) || (sa != nil && !Diff(sa, sb).Empty()) {
		t.Fatalf("%s: Feed and Decode with FeedDecoded leave different states", where)
	}
}

func seqRange(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

// FuzzParseEpoch checks the epoch format (WIRE.md, "Epoch"): any string
// parses exactly when ValidEpoch holds and its start time fits, an epoch
// made by NewEpoch parses back to its start, and CompareEpochs orders
// epochs of different starts as their starts.
func FuzzParseEpoch(f *testing.F) {
	f.Add(testEpoch, int64(0), int64(1))                         // a real epoch
	f.Add("0000018C0A1B2C3D-1F2E3D4C", int64(-1), int64(0))      // upper case: invalid
	f.Add("ffffffffffffffff-00000000", int64(1)<<62, int64(1))   // a start past int64 nanoseconds
	f.Add("0000018c0a1b2c3d_1f2e3d4c", int64(5), int64(5))       // the wrong separator
	f.Add("0000018c0a1b2c3d-1f2e3d4", int64(1<<63-1), int64(-7)) // one digit short; the largest start
	f.Fuzz(func(t *testing.T, s string, a, b int64) {
		start, err := ParseEpoch(s)
		if err == nil && !ValidEpoch(s) {
			t.Fatalf("ParseEpoch(%q) = %v, but ValidEpoch is false", s, start)
		}
		if err == nil && s[:16] != fmt.Sprintf("%016x", start.UnixNano()) {
			t.Fatalf("ParseEpoch(%q) = %v (%x)", s, start, start.UnixNano())
		}
		ea, eb := NewEpoch(time.Unix(0, a)), NewEpoch(time.Unix(0, b))
		ta, err := ParseEpoch(ea)
		if err != nil || ta.UnixNano() != max(a, 0) {
			t.Fatalf("NewEpoch(%d) = %q parses as %v, %v", a, ea, ta, err)
		}
		if ma, mb := max(a, 0), max(b, 0); ma != mb && CompareEpochs(ea, eb) != cmpInt(ma, mb) {
			t.Fatalf("CompareEpochs(%q, %q) = %d for starts %d, %d", ea, eb, CompareEpochs(ea, eb), ma, mb)
		}
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
