package snapshot

import (
	"fmt"
	"testing"
)

// TestPendingChunksCapped is the attack of a forger on an open bus who
// sends the first chunk of many large messages, each from a host id of
// its own, and never the rest: the chunks the assembler holds stay within
// MaxPendingBytes, the messages begun first go first, the accounting
// matches what the hosts hold, and a real host's chunked snapshot that
// comes during the flood is still assembled.
func TestPendingChunksCapped(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name  string
		limit int64 // MaxPendingBytes
		held  int64 // the chunk bytes held after the flood
	}{
		// The slots of the messages' chunks to come count too: one chunk
		// fewer fits than the limit's whole MiBs.
		{name: "default, twice the body limit", limit: 0, held: 15 * mib},
		{name: "set", limit: 5 * mib, held: 4 * mib},
		{name: "no cap", limit: -1, held: 48 * 4 * mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAssembler(t, AssemblerConfig{MaxBodyBytes: 8 * mib, MaxPendingBytes: tt.limit})
			chunk := make([]byte, mib)
			forge := func(h, m int) error {
				host := fmt.Sprintf("forged%03d", h)
				env := Envelope{Version: WireVersion, HostID: host, Epoch: testEpoch, Seq: 1, Kind: KindSnapshot,
					MsgID: uint64(m + 1), Chunk: 0, Chunks: 8, Encoding: EncodingIdentity, Size: 8 * mib}
				_, err := a.Feed(Subject(DefaultSubjectPrefix, host, KindSnapshot), env.WireHeader(), chunk)
				return err
			}
			real := newWire(t, 4096)
			big := synth(300, 3000, 3)
			msgs := real.snapshot(1, big)
			for h := range 48 {
				for m := range 4 {
					if err := forge(h, m); err != nil {
						t.Fatal(err)
					}
				}
				if h == 24 { // half-way through the flood
					if c := feed(t, a, msgs); c == nil || c.Seq != 1 {
						t.Fatalf("the real host's snapshot was not assembled during the flood: %+v", c)
					}
				}
			}
			var held, slots int64
			var first string
			for id, hs := range a.hosts {
				for _, p := range hs.pending {
					held += p.bytes
					slots += int64(cap(p.parts)) * slotBytes
					if first == "" || id < first {
						first = id
					}
				}
			}
			if held+slots != a.chunks.bytes {
				t.Errorf("the hosts hold %d bytes of chunks and %d of slots, the account says %d", held, slots, a.chunks.bytes)
			}
			if held != tt.held || (tt.limit > 0 && held+slots > tt.limit) {
				t.Errorf("%d MiB of chunks held, want %d", held/mib, tt.held/mib)
			}
			if want := fmt.Sprintf("forged%03d", 48-int((tt.held/mib+3)/4)); tt.limit >= 0 && first != want {
				t.Errorf("the oldest host still holding chunks is %s, want %s (the first begun go first)", first, want)
			}
			got, _ := a.State(real.host)
			assertSameState(t, got, big)
		})
	}
}

// TestPendingChunkSlotsCapped floods the assembler with first chunks of one
// byte of messages that claim 4096 chunks each, under made-up host ids:
// the slots each incomplete message keeps for its chunks to come count
// toward MaxPendingBytes, so the messages begun first are dropped and
// what is held stays within the limit but for the one being added to.
func TestPendingChunkSlotsCapped(t *testing.T) {
	const limit = 64 << 10
	a := newAssembler(t, AssemblerConfig{MaxBodyBytes: 1 << 20, MaxPendingBytes: limit})
	for h := range 200 {
		host := fmt.Sprintf("forged%04d", h)
		for m := range 4 {
			env := Envelope{Version: WireVersion, HostID: host, Epoch: testEpoch, Seq: 1, Kind: KindSnapshot,
				MsgID: uint64(m + 1), Chunk: 0, Chunks: 4096, Encoding: EncodingIdentity, Size: 4096}
			if _, err := a.Feed(Subject(DefaultSubjectPrefix, host, KindSnapshot), env.WireHeader(), []byte{'x'}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var held int64
	messages := 0
	for _, hs := range a.hosts {
		for _, p := range hs.pending {
			held += p.bytes + int64(cap(p.parts))*slotBytes
			messages++
		}
	}
	if one := 4096*slotBytes + 1; held > max(limit, one) || held != a.chunks.bytes {
		t.Errorf("%d incomplete messages hold %d bytes of chunks and slots (accounted %d), want at most %d", messages, held, a.chunks.bytes, max(limit, one))
	}
}
