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
		{name: "default, twice the body limit", limit: 0, held: 16 * mib},
		{name: "set", limit: 5 * mib, held: 5 * mib},
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
			var held int64
			var first string
			for id, hs := range a.hosts {
				for _, p := range hs.pending {
					held += p.bytes
					if first == "" || id < first {
						first = id
					}
				}
			}
			if held != a.chunks.bytes {
				t.Errorf("the hosts hold %d bytes of chunks, the account says %d", held, a.chunks.bytes)
			}
			if held != tt.held {
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
