package publish

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// relay copies host-a's messages from prefix "proctag" to prefix "relay",
// dropping the first delta, and forwards control requests back: a lossy
// link built from real NATS subscriptions.
type relay struct {
	dropped atomic.Int32
}

func startRelay(t *testing.T, nc *nats.Conn) *relay {
	t.Helper()
	r := &relay{}
	_, err := nc.Subscribe("proctag.v1.host-a.>", func(m *nats.Msg) {
		host, kind, ok := snapshot.ParseSubject("proctag", m.Subject)
		if !ok {
			return
		}
		if kind == snapshot.KindDelta && r.dropped.CompareAndSwap(0, 1) {
			return
		}
		out := &nats.Msg{Subject: snapshot.Subject("relay", host, kind), Header: m.Header, Data: m.Data}
		if err := nc.PublishMsg(out); err != nil {
			t.Errorf("relay: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nc.Subscribe(snapshot.ControlSubject("relay", "host-a"), func(m *nats.Msg) {
		reply, err := nc.Request(snapshot.ControlSubject("proctag", "host-a"), m.Data, 5*time.Second)
		if err != nil {
			t.Errorf("relay control: %v", err)
			return
		}
		_ = m.Respond(reply.Data)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLostDeltaIsDetectedAndResynced(t *testing.T) {
	srv := startServer(t, natsembed.Config{})
	r := startRelay(t, connect(t, srv.ClientURL()))
	p := startPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 100})

	s1 := host(1, proc(10, "a"))
	p.Submit(s1, snapshot.Stats{})
	waitCounter(t, p, "the first snapshot sent", func(st snapshot.Stats) bool { return st.PublishedMessages >= 1 })
	w := startSubscriber(t, connect(t, srv.ClientURL()), natssub.Config{Prefix: "relay", HostID: "host-a"})
	w.waitState("host-a", s1)
	var sent snapshot.Stats
	p.AddCounters(&sent)

	s2 := host(2, proc(10, "a"), proc(11, "b")) // its delta is dropped by the relay
	p.Submit(s2, snapshot.Stats{})
	waitCounter(t, p, "the lost delta sent", func(st snapshot.Stats) bool { return st.PublishedMessages > sent.PublishedMessages })
	s3 := host(3, proc(11, "b"), proc(12, "c"))
	p.Submit(s3, snapshot.Stats{})

	gap := w.waitChange("a gap", func(c snapshot.Change) bool { return c.NeedResync && c.Reason == "gap" })
	if !sameContent(gap.State, s1) {
		t.Fatalf("state moved on a delta without its base: %+v", gap.State.Processes)
	}
	c := w.waitChange("the resynced state", func(c snapshot.Change) bool { return c.State != nil && sameContent(c.State, s3) })
	if c.Kind != snapshot.KindSnapshot {
		t.Fatalf("state after the gap came as %s, want a full snapshot", c.Kind)
	}
	if r.dropped.Load() != 1 {
		t.Fatal("the relay dropped nothing")
	}
}
