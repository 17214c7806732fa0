package natssub

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/snapshot"
)

func setup(t *testing.T) (*nats.Conn, *Subscriber, context.CancelFunc, <-chan error) {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := New(nc, Config{RequestTimeout: 200 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	t.Cleanup(cancel)
	return nc, sub, cancel, done
}

func publishMsgs(t *testing.T, nc *nats.Conn, msgs []snapshot.Message) {
	t.Helper()
	for _, m := range msgs {
		if err := nc.PublishMsg(&nats.Msg{Subject: m.Subject, Header: nats.Header(m.Header), Data: m.Data}); err != nil {
			t.Fatal(err)
		}
	}
}

func next(t *testing.T, sub *Subscriber) snapshot.Change {
	t.Helper()
	select {
	case c := <-sub.Changes():
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("no change within 20s")
	}
	return snapshot.Change{}
}

func TestBadMessagesLeaveTheStateAlone(t *testing.T) {
	nc, sub, _, _ := setup(t)
	enc, err := snapshot.NewEncoder("proctag", 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &snapshot.Snapshot{Host: snapshot.Host{HostID: "h1"}, Processes: []snapshot.Process{{PID: 1, StartTime: 1, Name: "init", MatchedRule: -1}}}
	env := snapshot.Envelope{HostID: "h1", Epoch: snapshot.NewEpoch(time.Now()), Seq: 1, MsgID: 1}
	msgs, err := enc.EncodeSnapshot(env, s)
	if err != nil {
		t.Fatal(err)
	}
	select { // a message published once the subscriber is ready is seen
	case <-sub.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("subscriber not ready within 20s")
	}
	publishMsgs(t, nc, msgs)
	if c := next(t, sub); c.Kind != snapshot.KindSnapshot || c.State == nil {
		t.Fatalf("first change %+v, want the snapshot", c)
	}
	before, _ := sub.State("h1")

	bad := []*nats.Msg{
		{Subject: "proctag.v1.h1.delta", Data: []byte("not json")},
		{Subject: "proctag.v1.h1.delta", Header: nats.Header(msgs[0].Header), Data: []byte("{")},
		{Subject: "proctag.v1.h1.control", Data: []byte(`{"op":"resync"}`)},
	}
	for _, m := range bad {
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	// A good heartbeat after the bad messages proves they were processed.
	env.MsgID = 2
	hb, _ := enc.EncodeHeartbeat(env, &snapshot.Stats{Ticks: 7})
	publishMsgs(t, nc, hb)
	for {
		c := next(t, sub)
		if c.Kind == snapshot.KindHeartbeat {
			if c.Stats.Ticks != 7 || c.NeedResync {
				t.Fatalf("heartbeat change %+v", c)
			}
			break
		}
	}
	after, _ := sub.State("h1")
	if len(after.Processes) != 1 || after.Processes[0].Name != before.Processes[0].Name {
		t.Fatalf("state changed by bad messages: %+v", after)
	}
	if sub.errs.Load() < 2 {
		t.Fatalf("bad messages counted %d, want 2", sub.errs.Load())
	}
}

func TestRunClosesChanges(t *testing.T) {
	_, sub, cancel, done := setup(t)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, open := <-sub.Changes(); open {
		t.Fatal("Changes still open after Run returned")
	}
}

func TestNewRejectsBadHost(t *testing.T) {
	if _, err := New(nil, Config{HostID: "a.b"}, nil); err == nil {
		t.Fatal("New accepted a host id with a dot")
	}
}
