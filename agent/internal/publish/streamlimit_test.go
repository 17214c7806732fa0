package publish

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/snapshot"
)

// TestStreamStoresFullAfterAFailure: the stream takes messages of 64 KiB
// while the server takes 2 MiB, so the publisher cuts a full snapshot's
// chunks to 64 KiB. After one failed store (the stream deleted under the
// agent), the next full snapshots must still be cut to what the stream
// takes, so that one is stored again: a subscriber that follows the
// stream gets the host's state back.
func TestStreamStoresFullAfterAFailure(t *testing.T) {
	srv := startServer(t, natsembed.Config{JetStream: true, StoreDir: t.TempDir(), MaxPayloadBytes: 2 << 20})
	p := startPublisher(t, Config{URL: srv.ClientURL(), JetStream: true, FullEvery: 1000,
		StreamLimits: StreamLimits{MaxMsgSizeBytes: 64 << 10}})
	r := rand.New(rand.NewPCG(1, 2))
	big := func(scan int) *snapshot.Snapshot {
		procs := make([]snapshot.Process, 6000)
		for i := range procs {
			procs[i] = proc(100+i, fmt.Sprintf("w%d", i))
			procs[i].Cmdline = fmt.Sprintf("/opt/w --id %016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64())
		}
		return host(scan, procs...)
	}
	p.Submit(big(1), snapshot.Stats{})
	waitCounter(t, p, "the first snapshot stored", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
	nc, js := connectJS(t, srv.ClientURL())
	name := snapshot.StreamName("proctag")
	chunks := func() uint64 {
		s, err := js.Stream(t.Context(), name)
		if err != nil {
			return 0
		}
		info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(snapshot.Subject("proctag", "host-a", snapshot.KindSnapshot)))
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}
	if n := chunks(); n < 2 {
		t.Fatalf("setup: the first full snapshot is in %d stored chunks, want several", n)
	}
	if err := js.DeleteStream(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	// The state after the deletion fails to store, and goes out on core
	// NATS; each resync request then asks for another full snapshot.
	for i := range 4 {
		var before snapshot.Stats
		p.AddCounters(&before)
		if i > 0 {
			if _, err := nc.Request(snapshot.ControlSubject("proctag", "host-a"), []byte(`{"op":"resync"}`), 5*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		p.Submit(big(i+2), snapshot.Stats{})
		waitCounter(t, p, fmt.Sprintf("state %d published", i+2), func(st snapshot.Stats) bool {
			return st.PublishedMessages > before.PublishedMessages
		})
		if chunks() > 0 {
			return
		}
	}
	t.Fatal("no full snapshot stored in the stream after one failed store and three full snapshots since")
}
