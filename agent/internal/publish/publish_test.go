package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// joinAfterFirst submits s1, waits until it is out, then starts a
// subscriber and waits for the state it gets by its join resync, so that
// what the test submits next is not raced by that resync.
func joinAfterFirst(t *testing.T, url string, p *Publisher, s1 *snapshot.Snapshot) *watcher {
	t.Helper()
	p.Submit(s1, snapshot.Stats{})
	waitCounter(t, p, "the first snapshot sent", func(st snapshot.Stats) bool { return st.PublishedMessages >= 1 })
	w := startSubscriber(t, connect(t, url), natssub.Config{HostID: "host-a"})
	if c := w.waitState("host-a", s1); c.Seq < 2 {
		t.Fatalf("join state has seq %d, want the resync's (2 or more)", c.Seq)
	}
	return w
}

func TestSnapshotDeltaHeartbeat(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 100})
	s1 := host(1, proc(10, "nginx"), proc(20, "cron"))
	s1.Host.Epoch = p.Epoch()
	w := joinAfterFirst(t, srv.ClientURL(), p, s1)

	s2 := host(2, proc(10, "nginx"), proc(30, "billing"))
	s2.Host.Epoch = p.Epoch()
	p.Submit(s2, snapshot.Stats{})
	c := w.waitState("host-a", s2)
	if c.Kind != snapshot.KindDelta || c.Delta == nil || len(c.Delta.Added) != 1 || len(c.Delta.Removed) != 1 {
		t.Fatalf("second state did not come as a delta adding and removing one process: %+v", c)
	}

	s3 := host(3, proc(10, "nginx"), proc(30, "billing"))
	s3.Host.Epoch = p.Epoch() // the host record as before: only the scan time moved
	p.Submit(s3, snapshot.Stats{ScanMicros: 1234})
	hb := w.waitChange("a heartbeat", func(c snapshot.Change) bool {
		return c.Kind == snapshot.KindHeartbeat && c.Stats != nil && c.Stats.ScanMicros == 1234
	})
	if hb.NeedResync || hb.Seq != c.Seq {
		t.Fatalf("heartbeat %+v after delta seq %d", hb, c.Seq)
	}
	if hb.Stats.PublishedMessages < 2 || hb.Stats.Processes != 2 {
		t.Fatalf("heartbeat stats %+v", hb.Stats)
	}
	info, _ := w.sub.Info("host-a")
	if !info.Synced || info.Epoch != p.Epoch() || info.Hostname != "a.example" {
		t.Fatalf("info %+v", info)
	}
	st, _ := w.sub.State("host-a")
	want := s2.Host
	want.ScanTime = host(3).Host.ScanTime // the heartbeat's
	if st.Host != want {
		t.Fatalf("host record %+v, want the last delta's as submitted %+v", st.Host, want)
	}
	if !info.LastScan.Equal(host(3).Host.ScanTime) || info.Interval != 10*time.Second {
		t.Fatalf("heartbeat envelope gave last scan %v and interval %v, want the submitted state's %v and 10s", info.LastScan, info.Interval, host(3).Host.ScanTime)
	}
}

// TestStateOfAnotherHostRefused: the publisher sends states as they are
// submitted and never rewrites their host record, so a state of another
// host is refused (and counted) instead of going out on this host's
// subjects.
func TestStateOfAnotherHostRefused(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	p := startPublisher(t, Config{URL: srv.ClientURL()})
	other := host(1, proc(10, "a"))
	other.Host.HostID = "host-b"
	p.Submit(other, snapshot.Stats{})
	st := waitCounter(t, p, "the refusal counted", func(st snapshot.Stats) bool { return st.PublishErrors == 1 })
	if st.PublishedMessages != 0 {
		t.Fatalf("published %d messages of another host's state", st.PublishedMessages)
	}
	p.Submit(host(2, proc(10, "a")), snapshot.Stats{})
	waitCounter(t, p, "this host's state sent", func(st snapshot.Stats) bool { return st.PublishedMessages >= 1 })
}

func TestFullEveryNTicks(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 2})
	w := joinAfterFirst(t, srv.ClientURL(), p, host(1, proc(10, "a")))
	states := []*snapshot.Snapshot{
		host(2, proc(10, "a"), proc(11, "b")),
		host(3, proc(10, "a"), proc(11, "b"), proc(12, "c")),
		host(4, proc(10, "a"), proc(12, "c")),
	}
	var kinds []snapshot.Kind
	for _, s := range states {
		p.Submit(s, snapshot.Stats{})
		kinds = append(kinds, w.waitState("host-a", s).Kind)
	}
	// The join resync was full; FullEvery 2 makes every second change full.
	want := []snapshot.Kind{snapshot.KindDelta, snapshot.KindSnapshot, snapshot.KindDelta}
	if !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
}

// TestQuietHostSendsNoPeriodicFull checks that heartbeats do not count
// toward FullEvery: a host whose state does not change sends heartbeats
// only, however many ticks pass, and its next change is a delta.
func TestQuietHostSendsNoPeriodicFull(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 2})
	w := joinAfterFirst(t, srv.ClientURL(), p, host(1, proc(10, "a")))
	for i := range 5 {
		s := host(2+i, proc(10, "a"))
		p.Submit(s, snapshot.Stats{})
		c := w.waitChange(fmt.Sprintf("quiet tick %d", i), func(c snapshot.Change) bool {
			return c.HostID == "host-a" && c.State != nil && c.State.Host.ScanTime.Equal(s.Host.ScanTime)
		})
		if c.Kind != snapshot.KindHeartbeat {
			t.Fatalf("quiet tick %d went out as %s, want a heartbeat", i, c.Kind)
		}
	}
	s := host(10, proc(10, "a"), proc(11, "b"))
	p.Submit(s, snapshot.Stats{})
	if k := w.waitState("host-a", s).Kind; k != snapshot.KindDelta {
		t.Fatalf("the first change after quiet ticks went out as %s, want a delta", k)
	}
}

func TestServerRestartEndsInFullResync(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	addr := srv.Addr().String()
	w := startSubscriber(t, connect(t, srv.ClientURL()), natssub.Config{})
	w.ready() // a subscriber of all hosts hears the agent's start snapshot
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 100})

	s1 := host(1, proc(10, "a"))
	p.Submit(s1, snapshot.Stats{})
	w.waitState("host-a", s1)

	srv.Shutdown()
	s2 := host(2, proc(10, "a"), proc(11, "b"))
	p.Submit(s2, snapshot.Stats{}) // while the server is down: must not block, must not be lost
	startServer(t, natsembed.Config{Listen: addr})

	// The agent goes on ticking, as it does: the subscriber, which
	// reconnects on its own schedule, gets the state from the full snapshot
	// after the agent's reconnect if it is back first, and otherwise from
	// the resync the next tick's heartbeat leads it to (a seq it missed).
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				p.Submit(s2, snapshot.Stats{})
			}
		}
	}()
	c := w.waitState("host-a", s2)
	close(stop)
	<-ticked
	if c.State == nil || c.Seq < 2 {
		t.Fatalf("state after restart %+v", c)
	}
	waitCounter(t, p, "a reconnect", func(st snapshot.Stats) bool { return st.Reconnects >= 1 })
}

func TestPublisherStartsWithoutServer(t *testing.T) {
	probe := startServer(t, natsembed.Config{})
	addr := probe.Addr().String()
	url := probe.ClientURL()
	probe.Shutdown()

	p := startPublisher(t, Config{URL: url})
	s1 := host(1, proc(10, "a"))
	p.Submit(s1, snapshot.Stats{}) // returns at once although nothing listens

	srv := startServer(t, natsembed.Config{Listen: addr})
	w := startSubscriber(t, connect(t, srv.ClientURL()), natssub.Config{HostID: "host-a"})
	w.waitState("host-a", s1)
}

func TestLateSubscriberGetsStateByResync(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 100})
	s1 := host(1, proc(10, "a"), proc(11, "b"))
	p.Submit(s1, snapshot.Stats{})
	waitCounter(t, p, "the first snapshot sent", func(st snapshot.Stats) bool { return st.PublishedMessages >= 1 })

	for _, cfg := range []natssub.Config{{HostID: "host-a"}, {}} {
		w := startSubscriber(t, connect(t, srv.ClientURL()), cfg)
		if cfg.HostID == "" {
			// Following all hosts, a subscriber asks a host when it hears
			// from it: here, the heartbeat of the agent's next tick.
			w.ready()
			p.Submit(s1, snapshot.Stats{})
		}
		w.waitState("host-a", s1)
		if w.sub.UsesJetStream() {
			t.Fatal("subscriber claims a stream that does not exist")
		}
	}
	waitCounter(t, p, "two resync requests", func(st snapshot.Stats) bool { return st.ResyncRequests >= 2 })
}

func TestLateSubscriberGetsStateFromJetStream(t *testing.T) {
	srv := startServer(t, natsembed.Config{JetStream: true, StoreDir: t.TempDir()})
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 100, JetStream: true})
	s1 := host(1, proc(10, "a"))
	s2 := host(2, proc(10, "a"), proc(11, "b"))
	s3 := host(3, proc(11, "b"), proc(12, "c"))
	for i, s := range []*snapshot.Snapshot{s1, s2, s3} {
		p.Submit(s, snapshot.Stats{})
		waitCounter(t, p, "state sent", func(st snapshot.Stats) bool { return st.PublishedMessages >= uint64(i+1) })
	}
	nc := connect(t, srv.ClientURL())
	w := startSubscriber(t, nc, natssub.Config{HostID: "host-a"})
	w.waitState("host-a", s3)
	if !w.sub.UsesJetStream() {
		t.Fatal("subscriber did not use the stream")
	}
	var st snapshot.Stats
	p.AddCounters(&st)
	if st.ResyncRequests != 0 {
		t.Fatalf("late subscriber asked for %d resyncs although the stream had the state", st.ResyncRequests)
	}

	// A second full snapshot purges the first and the deltas before it.
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.sub.RequestResync(t.Context(), "host-a"); err != nil {
		t.Fatal(err)
	}
	w.waitChange("the resync snapshot", func(c snapshot.Change) bool { return c.Kind == snapshot.KindSnapshot })
	// The purge follows the publish; poll the stream until it is done.
	var state struct{ Msgs uint64 }
	waitfor.Until(t, waitLimit, func() bool {
		info, err := js.StreamInfo(snapshot.StreamName("proctag"))
		if err != nil {
			t.Fatal(err)
		}
		state.Msgs = info.State.Msgs
		return state.Msgs == 1
	}, "stream keeps %+v after a new full snapshot, want 1 message", &state)
}

func TestChunkedSnapshotsAtSmallMaxPayload(t *testing.T) {
	srv := startServer(t, natsembed.Config{MaxPayloadBytes: 2048})
	w := startSubscriber(t, connect(t, srv.ClientURL()), natssub.Config{HostID: "host-a"})
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 100})
	big := bigHost(400)
	p.Submit(big, snapshot.Stats{})
	w.waitState("host-a", big)
	// The subscriber can assemble the snapshot before the publisher's flush
	// returns and it counts what it sent: wait for the count, then check it.
	st := waitCounter(t, p, "the full snapshot counted", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
	if st.PublishedMessages < 5 || st.LastFullBytes < 4*2048 {
		t.Fatalf("snapshot went out in %d messages, %d bytes: not chunked", st.PublishedMessages, st.LastFullBytes)
	}
	bigger := bigHost(420)
	p.Submit(bigger, snapshot.Stats{})
	w.waitState("host-a", bigger)
}

func TestControlRejectsUnknownOp(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	p := startPublisher(t, Config{URL: srv.ClientURL()})
	nc := connect(t, srv.ClientURL())
	tests := []struct {
		name   string
		body   string
		wantOK bool
	}{
		{"resync is accepted", `{"op":"resync"}`, true},
		{"unknown op is refused", `{"op":"reboot"}`, false},
		{"non-JSON is refused", `resync`, false},
		{"an oversized request is refused unread", fmt.Sprintf(`{"op":"resync","pad":"%0*d"}`, snapshot.MaxControlRequestBytes, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
			defer cancel()
			var msg *nats.Msg
			var err error
			for msg == nil { // the publisher may not have subscribed yet
				msg, err = nc.RequestWithContext(ctx, snapshot.ControlSubject("proctag", "host-a"), []byte(tt.body))
				if err != nil && ctx.Err() != nil {
					t.Fatal(err)
				}
			}
			var reply snapshot.ControlReply
			if err := json.Unmarshal(msg.Data, &reply); err != nil {
				t.Fatal(err)
			}
			if reply.OK != tt.wantOK || reply.HostID != "host-a" || reply.Epoch != p.Epoch() || (!tt.wantOK && reply.Error == "") {
				t.Fatalf("reply %+v", reply)
			}
		})
	}
}

// TestOnPublish: a publish of a state is reported with its time and
// outcome.
func TestOnPublish(t *testing.T) {
	type report struct {
		d  time.Duration
		ok bool
	}
	srv := startServer(t, natsembed.Config{})
	reports := make(chan report, 16)
	p := startPublisher(t, Config{URL: srv.ClientURL(), OnPublish: func(d time.Duration, ok bool) { reports <- report{d, ok} }})
	p.Submit(host(1, proc(10, "a")), snapshot.Stats{})
	select {
	case r := <-reports:
		if !r.ok || r.d <= 0 {
			t.Fatalf("first publish reported %+v, want ok with a duration", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the first publish was not reported")
	}
}

// TestHolds checks what the publisher says it still reads (Holds): the
// sockets of the state it was last given, and of the last state it
// published, against which the next delta goes; not those of a state it
// published and went past, by a delta or by the full snapshot after a
// server restart.
func TestHolds(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	addr := srv.Addr().String()
	w := startSubscriber(t, connect(t, srv.ClientURL()), natssub.Config{HostID: "host-a"})
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 100})
	never := host(9, proc(99, "never-submitted"))

	s1 := host(1, proc(10, "a"))
	p.Submit(s1, snapshot.Stats{})
	if !p.Holds(s1.SocketRows) {
		t.Fatal("the state just submitted is not held")
	}
	w.waitState("host-a", s1)
	s2 := host(2, proc(10, "a"), proc(11, "b"))
	p.Submit(s2, snapshot.Stats{})
	w.waitState("host-a", s2)
	waitfor.Until(t, waitLimit, func() bool { return !p.Holds(s1.SocketRows) }, "the first state is still held after the second was published")
	if !p.Holds(s2.SocketRows) || p.Holds(never.SocketRows) || p.Holds(nil) {
		t.Fatalf("holds the published state %v, one never submitted %v, nil %v", p.Holds(s2.SocketRows), p.Holds(never.SocketRows), p.Holds(nil))
	}

	srv.Shutdown()
	s3 := host(3, proc(10, "a"), proc(12, "c"))
	p.Submit(s3, snapshot.Stats{}) // sent once the server is back, in full
	if !p.Holds(s3.SocketRows) {
		t.Fatal("the state submitted while the server is away is not held")
	}
	srv = startServer(t, natsembed.Config{Listen: addr})
	w.waitState("host-a", s3)
	waitfor.Until(t, waitLimit, func() bool { return !p.Holds(s2.SocketRows) }, "the state before the outage is still held after the next was published")
	if !p.Holds(s3.SocketRows) {
		t.Fatal("the last published state is not held")
	}
}

// TestHoldsBase checks that the state the next delta goes against stays
// held while newer states wait (a server away, a slow publish), and that
// the one being published is held until its publish ends.
func TestHoldsBase(t *testing.T) {
	p := newPublisher(t, Config{URL: "nats://127.0.0.1:1"}) // not run
	s1, s2, s3 := host(1, proc(10, "a")), host(2, proc(11, "b")), host(3, proc(12, "c"))
	p.setPrev(s1)
	p.Submit(s2, snapshot.Stats{})
	p.Submit(s3, snapshot.Stats{})
	for _, c := range []struct {
		s    *snapshot.Snapshot
		want bool
	}{{s1, true}, {s2, false}, {s3, true}} {
		if got := p.Holds(c.s.SocketRows); got != c.want {
			t.Errorf("state %d: held %v, want %v", c.s.Processes[0].PID, got, c.want)
		}
	}
	p.mu.Lock()
	p.sending = s2
	p.mu.Unlock()
	if !p.Holds(s2.SocketRows) {
		t.Error("the state being published is not held")
	}
	p.setPrev(s3)
	p.mu.Lock()
	p.sending = nil
	p.mu.Unlock()
	if p.Holds(s1.SocketRows) || p.Holds(s2.SocketRows) || !p.Holds(s3.SocketRows) {
		t.Errorf("after s3 was published: s1 %v, s2 %v, s3 %v held, want only s3", p.Holds(s1.SocketRows), p.Holds(s2.SocketRows), p.Holds(s3.SocketRows))
	}
}

// TestFullSnapshotChunksCapped checks that a full snapshot goes out in
// messages of at most maxChunkBytes when the server would take far larger
// ones, and that a subscriber assembles it.
func TestFullSnapshotChunksCapped(t *testing.T) {
	srv := startServer(t, natsembed.Config{MaxPayloadBytes: 8 << 20})
	nc := connect(t, srv.ClientURL())
	sizes := make(chan int, 1024)
	if _, err := nc.Subscribe(snapshot.Subject("proctag", "host-a", snapshot.KindSnapshot), func(m *nats.Msg) {
		msg := snapshot.Message{Header: m.Header, Data: m.Data}
		sizes <- msg.Size()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	w := startSubscriber(t, connect(t, srv.ClientURL()), natssub.Config{HostID: "host-a"})
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 100})
	big := bigHost(20000)
	for i := range big.Processes {
		big.Processes[i].Cmdline += fmt.Sprintf(" --seed %x", uint64(i)*0x2545f4914f6cdd1d^0x5851f42d4c957f2d)
	}
	p.Submit(big, snapshot.Stats{})
	w.waitState("host-a", big)
	st := waitCounter(t, p, "the full snapshot counted", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
	if st.LastFullBytes <= 2*maxChunkBytes {
		t.Fatalf("setup: the full snapshot is %d bytes on the wire, want more than two chunks' %d", st.LastFullBytes, 2*maxChunkBytes)
	}
	// The subscriber assembled the snapshot: every chunk reached nc too,
	// which subscribed first on the same server.
	var total int
	for total < int(st.LastFullBytes) {
		select {
		case n := <-sizes:
			if n > maxChunkBytes {
				t.Fatalf("a chunk of %d bytes, want at most %d", n, maxChunkBytes)
			}
			total += n
		case <-time.After(waitLimit):
			t.Fatalf("got %d of the snapshot's %d bytes", total, st.LastFullBytes)
		}
	}
}

// TestAfterFull checks that AfterFull is called once after each full
// snapshot, and not after a delta.
func TestAfterFull(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	calls := make(chan struct{}, 16)
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 2, AfterFull: func() { calls <- struct{}{} }})
	call := func(what string) {
		t.Helper()
		select {
		case <-calls:
		case <-time.After(waitLimit):
			t.Fatalf("no AfterFull call after %s", what)
		}
	}
	p.Submit(host(1, proc(10, "a")), snapshot.Stats{})
	call("the first full snapshot")
	var before snapshot.Stats
	p.AddCounters(&before)
	p.Submit(host(2, proc(10, "a"), proc(11, "b")), snapshot.Stats{}) // a delta
	waitCounter(t, p, "the delta sent", func(st snapshot.Stats) bool { return st.PublishedMessages > before.PublishedMessages })
	p.Submit(host(3, proc(10, "a"), proc(12, "c")), snapshot.Stats{}) // full: FullEvery 2
	call("the second full snapshot")
	// Calls come on Run's goroutine in order: one for the delta would
	// have come before the second snapshot's, which would be left over.
	if n := len(calls); n != 0 {
		t.Fatalf("%d more AfterFull calls than full snapshots", n)
	}
}
