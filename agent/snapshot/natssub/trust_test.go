package natssub

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/publish"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
)

const waitLimit = 20 * time.Second

// bus is an open NATS server (anyone may publish anything) with a real
// agent publishing host-a and a forger's connection.
type bus struct {
	t      *testing.T
	url    string
	agent  *publish.Publisher
	forger *nats.Conn
	enc    *snapshot.Encoder
	msgID  uint64
}

func startBus(t *testing.T) *bus {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	p, err := publish.New(publish.Config{URL: srv.ClientURL(), HostID: "host-a", Interval: 10 * time.Second,
		FullEvery: 1000, ResyncMinGap: 10 * time.Millisecond, ReconnectWaitMax: 200 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("publisher: %v", err)
		}
	})
	forger, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(forger.Close)
	enc, err := snapshot.NewEncoder("proctag", 0)
	if err != nil {
		t.Fatal(err)
	}
	return &bus{t: t, url: srv.ClientURL(), agent: p, forger: forger, enc: enc, msgID: 1 << 40}
}

// follow starts a subscriber (of host-a, or of all hosts) and waits until
// it is subscribed.
func (b *bus) follow(host string) *Subscriber {
	b.t.Helper()
	nc, err := nats.Connect(b.url)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(nc.Close)
	sub, err := New(nc, Config{HostID: host, ResyncMinGap: 20 * time.Millisecond, RequestTimeout: 5 * time.Second}, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	b.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.t.Errorf("subscriber: %v", err)
		}
	})
	select {
	case <-sub.Ready():
	case <-time.After(waitLimit):
		b.t.Fatal("subscriber not ready")
	}
	return sub
}

// forge publishes a message on host-a's subjects as a forger would.
func (b *bus) forge(kind snapshot.Kind, epoch string, seq, base uint64, body any) {
	b.t.Helper()
	b.msgID++
	env := snapshot.Envelope{HostID: "host-a", Hostname: "forged", Epoch: epoch, Seq: seq, BaseSeq: base,
		ScanTime: time.Now(), IntervalMS: 10000, MsgID: b.msgID}
	var msgs []snapshot.Message
	var err error
	switch kind {
	case snapshot.KindSnapshot:
		msgs, err = b.enc.EncodeSnapshot(env, body.(*snapshot.Snapshot))
	case snapshot.KindDelta:
		msgs, err = b.enc.EncodeDelta(env, body.(*snapshot.Delta))
	default:
		msgs, err = b.enc.EncodeHeartbeat(env, &snapshot.Stats{})
	}
	if err != nil {
		b.t.Fatal(err)
	}
	for _, m := range msgs {
		if err := b.forger.PublishMsg(&nats.Msg{Subject: m.Subject, Header: nats.Header(m.Header), Data: m.Data}); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := b.forger.Flush(); err != nil {
		b.t.Fatal(err)
	}
}

// waitPublished waits until the agent has sent n messages.
func (b *bus) waitPublished(n uint64) {
	b.t.Helper()
	var st snapshot.Stats
	waitfor.Until(b.t, waitLimit, func() bool {
		st = snapshot.Stats{}
		b.agent.AddCounters(&st)
		return st.PublishedMessages >= n
	}, "agent published fewer than %d messages: %+v", n, &st)
}

// state builds host-a's state with processes of the given names.
func state(scan int, names ...string) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Host: snapshot.Host{HostID: "host-a", Hostname: "a.example",
		ScanTime: time.Date(2026, 1, 1, 0, 0, scan, 0, time.UTC)}}
	for i, n := range names {
		s.Processes = append(s.Processes, snapshot.Process{PID: 100 + i, PPID: 1, StartTime: int64(1000 + i), Name: n, ProcessName: n, MatchedRule: -1})
	}
	s.Sort()
	return s
}

func procNames(s *snapshot.Snapshot) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, p := range s.Processes {
		out = append(out, p.Name)
	}
	return out
}

// watch reads a subscriber's changes until ok, failing at the deadline; it
// records whether any change showed the forged process.
type watch struct {
	t        *testing.T
	sub      *Subscriber
	sawForge bool
	reasons  []string
}

func (w *watch) until(what string, ok func(c snapshot.Change) bool) snapshot.Change {
	w.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case c, open := <-w.sub.Changes():
			if !open {
				w.t.Fatalf("changes closed while waiting for %s", what)
			}
			if slices.Contains(procNames(c.State), "forged") {
				w.sawForge = true
			}
			if c.Reason != "" {
				w.reasons = append(w.reasons, c.Reason)
			}
			if ok(c) {
				return c
			}
		case <-deadline.C:
			w.t.Fatalf("no change within %s: %s (reasons so far %v)", waitLimit, what, w.reasons)
		}
	}
}

// waitErrs waits until the subscriber counted n bad messages.
func waitErrs(t *testing.T, sub *Subscriber, n uint64) {
	t.Helper()
	waitfor.Until(t, waitLimit, func() bool { return sub.errs.Load() >= n }, "subscriber counted fewer than %d bad messages", n)
}

// TestForgedMessagesOnAnOpenBus runs the attacks of a client on the bus through a real
// server: a forger publishes on host-a's subjects while the real agent
// does, and the subscriber must end on the agent's state, in its epoch, in
// sync, and (where the protocol rules the forgery out) never show the
// forged process at all.
func TestForgedMessagesOnAnOpenBus(t *testing.T) {
	fake := state(9, "forged")
	olderEpoch := snapshot.NewEpoch(time.Now().Add(-time.Hour))
	tests := []struct {
		name string
		// host is the subscriber's HostID ("" follows all hosts).
		host string
		// forge publishes the forged messages given the real epoch and seq
		// and waits until the subscriber has seen them.
		forge func(b *bus, w *watch, epoch string, seq uint64)
		// mayShow: the forgery is not ruled out by the protocol, so the
		// forged state may show until the agent's messages reveal it.
		mayShow bool
	}{
		{name: "far-ahead delta on the right base", host: "host-a",
			forge: func(b *bus, w *watch, epoch string, seq uint64) {
				b.forge(snapshot.KindDelta, epoch, seq+1_000_000_000, seq, &snapshot.Delta{Host: fake.Host, Added: fake.Processes})
				waitErrs(b.t, w.sub, 1)
			}},
		{name: "far-ahead delta on a far base", host: "host-a",
			forge: func(b *bus, w *watch, epoch string, seq uint64) {
				b.forge(snapshot.KindDelta, epoch, seq+1_000_000_001, seq+1_000_000_000, &snapshot.Delta{Host: fake.Host, Added: fake.Processes})
				w.until("the refusal", func(c snapshot.Change) bool { return c.Reason == "seq far ahead" })
			}},
		{name: "far-ahead snapshot", host: "host-a",
			forge: func(b *bus, w *watch, epoch string, seq uint64) {
				b.forge(snapshot.KindSnapshot, epoch, seq+1_000_000_000, 0, fake)
				w.until("the refusal", func(c snapshot.Change) bool { return c.Reason == "seq far ahead" })
			}},
		{name: "next-seq delta", host: "host-a", mayShow: true,
			forge: func(b *bus, w *watch, epoch string, seq uint64) {
				b.forge(snapshot.KindDelta, epoch, seq+1, seq, &snapshot.Delta{Host: fake.Host, Added: fake.Processes})
				w.until("the forged delta", func(c snapshot.Change) bool { return c.Seq == seq+1 })
			}},
		{name: "snapshot of an older epoch", host: "host-a",
			forge: func(b *bus, w *watch, _ string, _ uint64) {
				b.forge(snapshot.KindSnapshot, olderEpoch, 1, 0, fake)
				w.until("the refusal", func(c snapshot.Change) bool { return c.Reason == "older epoch" })
			}},
		{name: "snapshot with a garbage epoch", host: "host-a",
			forge: func(b *bus, w *watch, _ string, _ uint64) {
				b.forge(snapshot.KindSnapshot, "garbage", 1, 0, fake)
				waitErrs(b.t, w.sub, 1)
			}},
		{name: "snapshot of a newer epoch", host: "host-a", mayShow: true,
			forge: func(b *bus, w *watch, _ string, _ uint64) {
				b.forge(snapshot.KindSnapshot, snapshot.NewEpoch(time.Now().Add(time.Hour)), 1, 0, fake)
				w.until("the forged epoch", func(c snapshot.Change) bool { return slices.Contains(procNames(c.State), "forged") })
			}},
		{name: "lower heartbeat seq", host: "host-a",
			forge: func(b *bus, w *watch, epoch string, seq uint64) {
				b.forge(snapshot.KindHeartbeat, epoch, seq-1, 0, nil)
				w.until("the gap", func(c snapshot.Change) bool { return c.Reason == "heartbeat behind" })
			}},
		{name: "far-ahead snapshot of a host seen first by a subscriber of all hosts", mayShow: true,
			forge: func(b *bus, w *watch, epoch string, seq uint64) {
				b.forge(snapshot.KindSnapshot, epoch, seq+1_000_000_000, 0, fake)
				w.until("the forged state", func(c snapshot.Change) bool { return slices.Contains(procNames(c.State), "forged") })
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBus(t)
			s1 := state(1, "nginx", "cron")
			b.agent.Submit(s1, snapshot.Stats{})
			b.waitPublished(1) // the start snapshot went out before anyone listened
			var w *watch
			var seq uint64
			if tt.host != "" {
				w = &watch{t: t, sub: b.follow(tt.host)}
				c := w.until("the agent's first state", func(c snapshot.Change) bool {
					return slices.Equal(procNames(c.State), procNames(s1))
				})
				seq = c.Seq
			} else {
				// A subscriber of all hosts asks nobody until it hears from a
				// host; the forger speaks first.
				w = &watch{t: t, sub: b.follow("")}
				seq = 1 // the agent's start snapshot
			}
			tt.forge(b, w, b.agent.Epoch(), seq)

			s2 := state(2, "nginx", "billing")
			b.agent.Submit(s2, snapshot.Stats{})
			c := w.until("the agent's state", func(c snapshot.Change) bool {
				return slices.Equal(procNames(c.State), procNames(s2)) && c.Epoch == b.agent.Epoch()
			})
			info, _ := w.sub.Info("host-a")
			if info.Epoch != b.agent.Epoch() || !info.Synced {
				t.Fatalf("ended on epoch %s (agent's %s), synced %v", info.Epoch, b.agent.Epoch(), info.Synced)
			}
			if got, _ := w.sub.State("host-a"); !slices.Equal(procNames(got), procNames(s2)) {
				t.Fatalf("state %v after change %+v", procNames(got), c)
			}
			if w.sawForge && !tt.mayShow {
				t.Fatalf("the forged state was shown (reasons %v)", w.reasons)
			}
		})
	}
}

// TestJoinDoesNotAskEveryAgent checks that a subscriber of all hosts sends
// nothing to the broadcast control subject and asks each host by its own
// control subject once it hears from it.
func TestJoinDoesNotAskEveryAgent(t *testing.T) {
	b := startBus(t)
	broadcasts := make(chan *nats.Msg, 16)
	bsub, err := b.forger.ChanSubscribe(snapshot.BroadcastControlSubject("proctag"), broadcasts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bsub.Unsubscribe() })
	if err := b.forger.Flush(); err != nil {
		t.Fatal(err)
	}
	s1 := state(1, "nginx")
	b.agent.Submit(s1, snapshot.Stats{})
	b.waitPublished(1) // the start snapshot went out before anyone listened
	w := &watch{t: t, sub: b.follow("")}
	// The agent's next tick (a heartbeat) introduces the host.
	b.agent.Submit(state(2, "nginx"), snapshot.Stats{})
	w.until("the host's state", func(c snapshot.Change) bool {
		return c.Kind == snapshot.KindSnapshot && slices.Equal(procNames(c.State), procNames(s1))
	})
	var st snapshot.Stats
	b.agent.AddCounters(&st)
	if st.ResyncRequests != 1 {
		t.Fatalf("agent got %d resync requests, want 1", st.ResyncRequests)
	}
	// A request after the join shows the broadcast subject is still quiet:
	// the forger's connection would have received a broadcast before it.
	if err := w.sub.RequestResync(t.Context(), "host-a"); err != nil {
		t.Fatal(err)
	}
	if err := b.forger.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-broadcasts:
		t.Fatalf("subscriber broadcast %q", m.Data)
	default:
	}
}
