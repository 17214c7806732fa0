package publish

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// syncBuffer is a log sink safe for the publisher's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// limitsOf returns the four limits the agent manages.
func limitsOf(c jetstream.StreamConfig) StreamLimits {
	return StreamLimits{MaxBytes: c.MaxBytes, MaxMsgSizeBytes: int64(c.MaxMsgSize), MaxMsgsPerSubject: c.MaxMsgsPerSubject, MaxAge: c.MaxAge}
}

// TestStreamLimits checks that the agent creates the stream with its
// configured limits, tightens a wider one, and never widens an operator's
// tighter limits, also across a restart of the agent.
func TestStreamLimits(t *testing.T) {
	cfgLimits := StreamLimits{MaxBytes: 64 << 20, MaxMsgSizeBytes: 256 << 10, MaxMsgsPerSubject: 100, MaxAge: 2 * time.Hour}
	tests := []struct {
		name string
		// existing is the operator's stream, nil for none.
		existing *StreamLimits
		want     StreamLimits
		wantLog  bool
	}{
		{name: "a new stream gets the configured limits", want: cfgLimits},
		{name: "an unbounded stream is tightened",
			existing: &StreamLimits{MaxAge: 24 * time.Hour, MaxBytes: -1, MaxMsgSizeBytes: -1, MaxMsgsPerSubject: -1},
			want:     cfgLimits},
		{name: "an operator's tighter limits are kept",
			existing: &StreamLimits{MaxBytes: 10 << 20, MaxMsgSizeBytes: 128 << 10, MaxMsgsPerSubject: 50, MaxAge: time.Hour},
			want:     StreamLimits{MaxBytes: 10 << 20, MaxMsgSizeBytes: 128 << 10, MaxMsgsPerSubject: 50, MaxAge: time.Hour},
			wantLog:  true},
		{name: "tighter limits are kept and wider ones tightened",
			existing: &StreamLimits{MaxBytes: 10 << 20, MaxMsgSizeBytes: -1, MaxMsgsPerSubject: 1000, MaxAge: 24 * time.Hour},
			want:     StreamLimits{MaxBytes: 10 << 20, MaxMsgSizeBytes: 256 << 10, MaxMsgsPerSubject: 100, MaxAge: 2 * time.Hour},
			wantLog:  true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, natsembed.Config{JetStream: true, StoreDir: t.TempDir()})
			js, err := jetstream.New(connect(t, srv.ClientURL()))
			if err != nil {
				t.Fatal(err)
			}
			name := snapshot.StreamName("proctag")
			if tt.existing != nil {
				sc := StreamConfig("proctag", StreamLimits{})
				sc.MaxBytes, sc.MaxMsgSize, sc.MaxMsgsPerSubject, sc.MaxAge = tt.existing.MaxBytes, int32(tt.existing.MaxMsgSizeBytes), tt.existing.MaxMsgsPerSubject, tt.existing.MaxAge
				if _, err := js.CreateStream(t.Context(), sc); err != nil {
					t.Fatal(err)
				}
			}
			// Two runs of the agent, one after the other: the second start
			// must not undo the first's outcome or the operator's limits.
			var logs syncBuffer
			for run := range 2 {
				p, err := New(Config{URL: srv.ClientURL(), HostID: "host-a", Interval: 10 * time.Second, JetStream: true, StreamLimits: cfgLimits},
					hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: &logs}))
				if err != nil {
					t.Fatal(err)
				}
				stop := runPublisher(t, p)
				p.Submit(host(run+1, proc(10, "a")), snapshot.Stats{})
				waitCounter(t, p, "a full snapshot stored", func(st snapshot.Stats) bool { return st.PublishedMessages >= 1 })
				stop()
				s, err := js.Stream(t.Context(), name)
				if err != nil {
					t.Fatal(err)
				}
				if got := limitsOf(s.CachedInfo().Config); got != tt.want {
					t.Fatalf("run %d: stream limits %+v, want %+v", run+1, got, tt.want)
				}
				if n := s.CachedInfo().State.Msgs; n == 0 {
					t.Fatalf("run %d: the full snapshot was not stored", run+1)
				}
			}
			if n := strings.Count(logs.String(), "tighter limits than the config"); (n > 0) != tt.wantLog || n > 2 {
				t.Fatalf("logged the kept limits %d times (once per run wanted: %v):\n%s", n, tt.wantLog, logs.String())
			}
		})
	}
}

// TestChunksFitTheStreamMaxMessageSize: with a stream whose max message
// size is below the server's max payload, the publisher cuts chunks to the
// stream's limit, so full snapshots are stored, and a late subscriber gets
// them from the stream.
func TestChunksFitTheStreamMaxMessageSize(t *testing.T) {
	srv := startServer(t, natsembed.Config{JetStream: true, StoreDir: t.TempDir()})
	p := startPublisher(t, Config{URL: srv.ClientURL(), JetStream: true, FullEvery: 100,
		StreamLimits: StreamLimits{MaxMsgSizeBytes: 4096}})
	big := bigHost(400)
	p.Submit(big, snapshot.Stats{})
	waitCounter(t, p, "the snapshot stored", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
	nc, js := connectJS(t, srv.ClientURL())
	s, err := js.Stream(t.Context(), snapshot.StreamName("proctag"))
	if err != nil {
		t.Fatal(err)
	}
	var st snapshot.Stats
	p.AddCounters(&st)
	if info := s.CachedInfo(); info.State.Msgs != st.PublishedMessages || info.State.Msgs < 2 {
		t.Fatalf("stream holds %d messages, the publisher sent %d chunks (want several)", info.State.Msgs, st.PublishedMessages)
	}
	if st.LastFullBytes > int64(st.PublishedMessages)*4096 {
		t.Fatalf("%d bytes in %d chunks: some chunk exceeds the stream's 4096-byte limit", st.LastFullBytes, st.PublishedMessages)
	}
	w := startSubscriber(t, nc, natssub.Config{HostID: "host-a"})
	w.waitState("host-a", big)
	if !w.sub.UsesJetStream() {
		t.Fatal("subscriber did not use the stream")
	}
}

// TestFullNotStoredIsSentAgain deletes the publisher's stream under it, so
// that the next full snapshot (asked by a resync request) goes on core NATS
// only, and checks that the publisher sends the following state in full
// again, which stores it in the stream created anew: a subscriber following
// the stream is not left waiting for a gap and a resync.
func TestFullNotStoredIsSentAgain(t *testing.T) {
	p, nc, js, name := streamDeletedUnder(t)
	// The first full snapshot was sent; LastFullBytes comes back when the
	// resync's is, once the publisher decided to send the next state in
	// full. A state submitted before could be published before the
	// resync's full snapshot, as a heartbeat.
	p.lastFullBytes.Store(0)
	if _, err := nc.Request(snapshot.ControlSubject("proctag", "host-a"), []byte(`{"op":"resync"}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waitCounter(t, p, "the resync's full snapshot sent", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
	p.Submit(host(2, proc(10, "a")), snapshot.Stats{}) // nothing changed: a heartbeat, were it not for the retry
	waitfor.Until(t, waitLimit, func() bool {
		s, err := js.Stream(t.Context(), name)
		return err == nil && s.CachedInfo().State.Msgs > 0
	}, "the full snapshot was not stored in a new stream")
}

// TestDeltaNotStoredSendsFull deletes the publisher's stream under it and
// submits a change: the delta's acknowledgement fails, so the publisher
// sends the state in full at once rather than leaving subscribers that
// follow the stream to find the gap at the host's next message; that full
// snapshot, on core NATS while the stream is gone, is sent again at the
// next tick and stored in the stream made anew.
func TestDeltaNotStoredSendsFull(t *testing.T) {
	p, _, js, name := streamDeletedUnder(t)
	var before snapshot.Stats
	p.AddCounters(&before)
	p.Submit(host(2, proc(10, "a"), proc(11, "b")), snapshot.Stats{})
	waitCounter(t, p, "the delta and, at once, the state in full", func(st snapshot.Stats) bool {
		return st.PublishedMessages >= before.PublishedMessages+2
	})
	p.Submit(host(3, proc(10, "a"), proc(11, "b")), snapshot.Stats{})
	waitfor.Until(t, waitLimit, func() bool {
		s, err := js.Stream(t.Context(), name)
		return err == nil && s.CachedInfo().State.Msgs > 0
	}, "the full snapshot was not stored in a new stream")
}

// streamDeletedUnder starts a publisher whose first full snapshot was
// stored, then deletes its stream: the publisher still holds it. It returns
// the publisher, a connection to the server, its JetStream API and the
// stream's name.
func streamDeletedUnder(t *testing.T) (*Publisher, *nats.Conn, jetstream.JetStream, string) {
	t.Helper()
	srv := startServer(t, natsembed.Config{JetStream: true, StoreDir: t.TempDir()})
	p := startPublisher(t, Config{URL: srv.ClientURL(), JetStream: true, FullEvery: 1000})
	p.Submit(host(1, proc(10, "a")), snapshot.Stats{})
	waitCounter(t, p, "the first snapshot stored", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
	nc, js := connectJS(t, srv.ClientURL())
	name := snapshot.StreamName("proctag")
	if err := js.DeleteStream(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	return p, nc, js, name
}

// TestStreamAwayCostsFewFulls keeps the publisher's stream from being made
// (another stream holds its subjects) and submits unchanged states: each
// full snapshot the stream did not store makes the next state go in full
// again, maxFullRetries times in a row at most, then heartbeats follow.
func TestStreamAwayCostsFewFulls(t *testing.T) {
	srv := startServer(t, natsembed.Config{JetStream: true, StoreDir: t.TempDir()})
	nc, js := connectJS(t, srv.ClientURL())
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "SQUATTER", Subjects: []string{"proctag.>"}}); err != nil {
		t.Fatal(err)
	}
	fulls, err := nc.SubscribeSync(snapshot.Subject("proctag", "host-a", snapshot.KindSnapshot))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	p := startPublisher(t, Config{URL: srv.ClientURL(), JetStream: true, FullEvery: 1000})
	const states = 2 + maxFullRetries + 3
	for i := range states {
		var before snapshot.Stats
		p.AddCounters(&before)
		p.Submit(host(i+1, proc(10, "a")), snapshot.Stats{})
		waitCounter(t, p, fmt.Sprintf("state %d published", i+1), func(st snapshot.Stats) bool {
			return st.PublishedMessages > before.PublishedMessages
		})
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	n, _, err := fulls.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + maxFullRetries; n != want {
		t.Errorf("%d full snapshots for %d unchanged states while the stream could not be made, want %d (the first and %d again)",
			n, states, want, maxFullRetries)
	}
}
