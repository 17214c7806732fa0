package publish

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// noisyHost is bigHost(n) with a cmdline per process that compresses
// poorly, so that its full snapshot is over 1 MiB compressed.
func noisyHost(n int) *snapshot.Snapshot {
	s := bigHost(n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range s.Processes {
		for range 6 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			s.Processes[i].Cmdline += fmt.Sprintf(" %016x", x)
		}
	}
	return s
}

// TestStoredSnapshotFitsPerSubjectLimit stores a full snapshot in a
// stream whose max_msgs_per_subject (as an operator may set it, at least
// full-every) held it whole in the server's 1 MiB chunks: the stream must
// keep all of its chunks, from chunk 0, so that a late subscriber
// replaying the stream gets the state without a resync.
func TestStoredSnapshotFitsPerSubjectLimit(t *testing.T) {
	for _, tt := range []struct {
		name       string
		perSubject int64
	}{
		{"max_msgs_per_subject 4", 4},
		{"max_msgs_per_subject 3", 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, natsembed.Config{JetStream: true, StoreDir: t.TempDir()})
			p := startPublisher(t, Config{URL: srv.ClientURL(), JetStream: true, FullEvery: 4,
				StreamLimits: StreamLimits{MaxMsgsPerSubject: tt.perSubject}})
			big := noisyHost(12000)
			p.Submit(big, snapshot.Stats{})
			st := waitCounter(t, p, "the snapshot stored", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
			if st.LastFullBytes <= 1<<20 || st.LastFullBytes > 2<<20 {
				t.Fatalf("setup: the full snapshot is %d bytes on the wire, want 1 to 2 MiB (two 1 MiB chunks)", st.LastFullBytes)
			}
			nc, js := connectJS(t, srv.ClientURL())
			s, err := js.Stream(t.Context(), snapshot.StreamName("proctag"))
			if err != nil {
				t.Fatal(err)
			}
			subj := snapshot.Subject("proctag", "host-a", snapshot.KindSnapshot)
			last, err := s.GetLastMsgForSubject(t.Context(), subj)
			if err != nil {
				t.Fatal(err)
			}
			chunks, _ := strconv.Atoi(last.Header.Get(snapshot.HeaderChunks))
			info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(subj))
			if err != nil {
				t.Fatal(err)
			}
			if kept := info.State.Subjects[subj]; kept != uint64(chunks) {
				t.Errorf("the stream keeps %d of the snapshot's %d chunks (max_msgs_per_subject %d)", kept, chunks, tt.perSubject)
			}
			w := startSubscriber(t, nc, natssub.Config{HostID: "host-a"})
			w.waitState("host-a", big)
			var after snapshot.Stats
			p.AddCounters(&after)
			if after.ResyncRequests != 0 {
				t.Errorf("a late subscriber needed %d resync requests: the stream did not hold the full snapshot", after.ResyncRequests)
			}
		})
	}
}
