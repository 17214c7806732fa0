package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// joinedData concatenates the data of msgs.
func joinedData(msgs []Message) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, m.Data...)
	}
	return b
}

// hardSnapshots are snapshots that stress the two compressions: highly
// repetitive, nearly incompressible, JSON just past streamAfter, and one
// huge element that crosses streamAfter in one Write.
func hardSnapshots() map[string]*Snapshot {
	r := rand.New(rand.NewPCG(7, 8))
	noisy := synth(300, 3000, 11)
	for i := range noisy.Processes {
		var sb strings.Builder
		for range 400 {
			sb.WriteByte(byte(' ' + 1 + r.IntN(94)))
		}
		noisy.Processes[i].Cmdline = sb.String()
	}
	same := synth(1, 20000, 3)
	for i := range same.Sockets {
		inode := same.Sockets[i].Inode
		same.Sockets[i] = same.Sockets[0]
		same.Sockets[i].Inode = inode
	}
	same.Sort()
	huge := synth(3, 10, 5)
	huge.Processes[1].Cmdline = strings.Repeat("abcdefghij", 100_000) // 1 MB in one element
	// Just past streamAfter: grow the socket count until the JSON passes it.
	var edge *Snapshot
	for n := 1000; ; n += 5 {
		s := synth(10, n, 9)
		var cw countWriter
		if err := WriteJSON(&cw, s, ""); err != nil {
			panic(err)
		}
		if cw.n > streamAfter {
			edge = s
			break
		}
	}
	return map[string]*Snapshot{
		"synth": synth(1000, 10000, 4), "noisy": noisy, "repetitive": same, "huge element": huge, "just past streamAfter": edge,
	}
}

// encodeOthers encodes up to n of snaps with enc, but the one named skip.
func encodeOthers(t *testing.T, enc *Encoder, env Envelope, snaps map[string]*Snapshot, skip string, n int) {
	t.Helper()
	for name, s := range snaps {
		if name == skip {
			continue
		}
		if n == 0 {
			return
		}
		n--
		if _, err := enc.EncodeSnapshot(env, s); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSnapshotStreamDeterministic checks that Each hands out the same bytes
// whatever the encoder compressed before (other snapshots, an Each
// stopped by an error half-way) and as a fresh encoder's EncodeSnapshot.
func TestSnapshotStreamDeterministic(t *testing.T) {
	snaps := hardSnapshots()
	for name, s := range snaps {
		for _, maxPayload := range []int{1024, 16 << 10, 256 << 10} {
			t.Run(fmt.Sprintf("%s/%d", name, maxPayload), func(t *testing.T) {
				env := Envelope{HostID: "host-a", Epoch: testEpoch, Seq: 1, MsgID: 1}
				fresh, err := NewEncoder("proctag", maxPayload)
				if err != nil {
					t.Fatal(err)
				}
				want, err := fresh.EncodeSnapshot(env, s)
				if err != nil {
					t.Fatal(err)
				}
				enc, err := NewEncoder("proctag", maxPayload)
				if err != nil {
					t.Fatal(err)
				}
				// Dirty the encoder with other snapshots first.
				encodeOthers(t, enc, env, snaps, name, len(snaps))
				st, err := enc.StreamSnapshot(env, s)
				if err != nil {
					t.Fatal(err)
				}
				// Another snapshot between the passes.
				encodeOthers(t, enc, env, snaps, name, 1)
				// An Each stopped half-way.
				stop := errors.New("stop")
				calls := 0
				if err := st.Each(func(*Message) error {
					if calls++; calls > st.Messages()/2 {
						return stop
					}
					return nil
				}); !errors.Is(err, stop) && st.Messages() > 1 {
					t.Fatalf("stopped Each = %v", err)
				}
				for round := range 2 {
					got := collectStream(t, st)
					if len(got) != len(want) || !bytes.Equal(joinedData(got), joinedData(want)) {
						t.Fatalf("round %d: %d messages, %d bytes; a fresh encoder %d, %d bytes", round, len(got), len(joinedData(got)), len(want), len(joinedData(want)))
					}
					for i := range got {
						if got[i].Size() > maxPayload {
							t.Errorf("chunk %d: %d bytes over %d", i, got[i].Size(), maxPayload)
						}
					}
				}
				a := newAssembler(t, AssemblerConfig{MaxChunks: 1 << 20})
				c := feed(t, a, want)
				if c == nil {
					t.Fatal("not assembled")
				}
				assertSameState(t, c.State, s)
			})
		}
	}
}

// TestSnapshotStreamExactMultiple cuts streamed snapshots whose compressed
// body is an exact multiple of the room, and one byte more or less.
func TestSnapshotStreamExactMultiple(t *testing.T) {
	env := Envelope{HostID: "host-a", Epoch: testEpoch, Seq: 1, MsgID: 1}
	// sizeOf returns the compressed size of s and the bytes a message
	// takes beyond its room.
	sizeOf := func(s *Snapshot) (size, overhead int) {
		probe, err := NewEncoder("proctag", 16<<10)
		if err != nil {
			t.Fatal(err)
		}
		st, err := probe.StreamSnapshot(env, s)
		if err != nil {
			t.Fatal(err)
		}
		return st.size, 16<<10 - st.room
	}
	// divisor returns a room in [2048, 64 KiB] dividing n, or 0.
	divisor := func(n int) int {
		for d := 2048; d <= 64<<10; d++ {
			if n%d == 0 {
				return d
			}
		}
		return 0
	}
	for _, tt := range []struct {
		name  string
		extra int // size = k*room + extra
	}{
		{"exact multiple", 0},
		{"one byte over", 1},
		{"one byte short", -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s *Snapshot
			var size, overhead, room int
			for seed := uint64(1); room == 0; seed++ {
				s = synth(1000, 10000, seed)
				size, overhead = sizeOf(s)
				room = divisor(size - tt.extra)
				if seed > 200 {
					t.Fatal("no snapshot found")
				}
			}
			enc, err := NewEncoder("proctag", room+overhead)
			if err != nil {
				t.Fatal(err)
			}
			st, err := enc.StreamSnapshot(env, s)
			if err != nil {
				t.Fatal(err)
			}
			if st.room != room || st.size != size {
				t.Fatalf("room %d size %d, want %d %d", st.room, st.size, room, size)
			}
			msgs := collectStream(t, st)
			if len(msgs) != st.Messages() || len(msgs) != (size+room-1)/room {
				t.Fatalf("%d messages, Messages %d, want %d", len(msgs), st.Messages(), (size+room-1)/room)
			}
			if last := len(msgs[len(msgs)-1].Data); last != size-(len(msgs)-1)*room {
				t.Fatalf("last chunk %d bytes", last)
			}
			c := feed(t, newAssembler(t, AssemblerConfig{MaxChunks: 1 << 20}), msgs)
			if c == nil {
				t.Fatal("not assembled")
			}
			assertSameState(t, c.State, s)
		})
	}
}

// TestSnapshotStreamChangedSendsNoWholeMessage changes the snapshot between
// StreamSnapshot and Each: Each must fail before it hands out the last of
// the Messages() chunks it announced, or a subscriber (and a JetStream
// stream) holds a complete set of chunks whose body is not the message.
func TestSnapshotStreamChangedSendsNoWholeMessage(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(s *Snapshot)
	}{
		{"grew a lot", func(s *Snapshot) { s.Sockets = append(s.Sockets, synth(10, 5000, 9).Sockets...); s.Sort() }},
		{"grew by a few sockets", func(s *Snapshot) { s.Sockets = append(s.Sockets, synth(10, 40, 9).Sockets...); s.Sort() }},
		{"shrank", func(s *Snapshot) { s.Sockets = s.Sockets[:len(s.Sockets)/2] }},
		{"one name longer", func(s *Snapshot) { s.Processes[0].ProcessName += "x" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := NewEncoder("proctag", 16<<10)
			if err != nil {
				t.Fatal(err)
			}
			s := synth(1000, 10000, 4)
			st, err := enc.StreamSnapshot(Envelope{HostID: "host-a", Epoch: testEpoch, Seq: 1, MsgID: 1}, s)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(s)
			var sent []Message
			err = st.Each(func(m *Message) error {
				c := *m
				c.Data = bytes.Clone(m.Data)
				sent = append(sent, c)
				return nil
			})
			if err == nil {
				t.Fatal("Each of a changed snapshot succeeded")
			}
			if len(sent) >= st.Messages() {
				_, ferr := feedAll(newAssembler(t, AssemblerConfig{}), sent)
				t.Errorf("Each failed (%v) after handing out all %d announced chunks; a subscriber assembling them gets: %v", err, len(sent), ferr)
			}
		})
	}
}
