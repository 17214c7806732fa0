package natssub

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/snapshot"
)

// TestDecodePipeKeepsOrder feeds one host's stream (a full snapshot, then
// 300 deltas, with a chunked full snapshot in the middle, which the
// decoders leave to the feeder) through a pipe of 4 decoders: every message
// must be applied in its turn (no gap, no resync) and the subscriber must
// end with the agent's last state.
func TestDecodePipeKeepsOrder(t *testing.T) {
	sub, err := New(nil, Config{ChangeBuffer: 1024}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	enc, err := snapshot.NewEncoder(snapshot.DefaultSubjectPrefix, 1024)
	if err != nil {
		t.Fatal(err)
	}
	epoch := snapshot.NewEpoch(time.Unix(1_700_000_000, 0))
	env := func(seq, base uint64) snapshot.Envelope {
		return snapshot.Envelope{Version: snapshot.WireVersion, HostID: "h1", Epoch: epoch, Seq: seq, BaseSeq: base, MsgID: seq}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	state := thost("h1", "", []snapshot.Process{tproc(100, "svc", 1)}, []snapshot.Socket{tlisten("tcp", "0.0.0.0", 80, 1, 1, 100)}, nil, nil)
	for pid := range 50 { // random command lines: a full snapshot takes several chunks
		p := tproc(200+pid, "worker", 1)
		p.Cmdline = fmt.Sprintf("worker --token-ish %x%x", rng.Uint64(), rng.Uint64())
		state.Processes = append(state.Processes, p)
	}
	state.Sort()
	var msgs []snapshot.Message
	add := func(m []snapshot.Message, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m...)
	}
	add(enc.EncodeSnapshot(env(1, 0), state))
	inode := uint64(1)
	for seq := uint64(2); seq <= 301; seq++ {
		next := state.Clone()
		inode++
		next.Sockets = append(next.Sockets, tconn("tcp", fmt.Sprintf("10.0.0.1:%d", 20000+seq), "10.0.0.2:80", "client", inode, 1, 100))
		if len(next.Sockets) > 40 {
			i := 1 + rng.IntN(len(next.Sockets)-1)
			next.Sockets = slices.Delete(next.Sockets, i, i+1)
		}
		next.Sort()
		if seq == 150 {
			add(enc.EncodeSnapshot(env(seq, 0), next))
		} else {
			add(enc.EncodeDelta(env(seq, seq-1), snapshot.Diff(state, next)))
		}
		state = next
	}
	chunked := slices.ContainsFunc(msgs, func(m snapshot.Message) bool {
		n := m.Header[snapshot.HeaderChunks]
		return len(n) == 1 && n[0] != "1"
	})
	if !chunked {
		t.Fatal("no message was chunked: the test covers less than it says")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pipe := newDecodePipe(ctx, sub, 4)
	for _, m := range msgs {
		pipe.submit(ctx, m.Subject, nats.Header(m.Header), m.Data, 0)
	}
	deadline := time.After(30 * time.Second)
	for seq := uint64(1); seq <= 301; {
		select {
		case c := <-sub.Changes():
			if c.NeedResync || c.Seq < seq {
				t.Fatalf("change %+v while seq %d was due", c, seq)
			}
			seq = c.Seq + 1
		case <-deadline:
			t.Fatalf("seq %d never applied", seq)
		}
	}
	cancel()
	pipe.wg.Wait()
	got, _ := sub.State("h1")
	if d := snapshot.Diff(state, got); !d.Empty() {
		t.Fatalf("subscriber's state differs from the agent's: %+v", d)
	}
}
