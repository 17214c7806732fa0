package natscluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const waitLimit = 20 * time.Second

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// roundTrip checks that a message published on server from reaches a
// subscriber on server to, through the routes.
func roundTrip(t *testing.T, c *Cluster, from, to int) {
	t.Helper()
	sub := connect(t, c.URL(to))
	s, err := sub.SubscribeSync("ping")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	pub := connect(t, c.URL(from))
	// The subscription's interest reaches the other servers over the
	// routes asynchronously: publish until one copy arrives.
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		if err := pub.Publish("ping", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.NextMsg(50 * time.Millisecond); err == nil {
			return
		}
	}
	t.Fatalf("no message from server %d to server %d within %s", from, to, waitLimit)
}

// TestKillAndRestart runs a cluster through the loss and return of a
// server: messages cross the routes, a stream on all three servers moves
// its leader where it is asked, keeps its messages and gets a new leader
// while its leader is down, and the server comes back on its port and
// catches up.
func TestKillAndRestart(t *testing.T) {
	c := StartTB(t, Options{})
	if c.Nodes() != 3 || len(c.URLs()) != 3 || c.MetaLeader() < 0 {
		t.Fatalf("nodes %d, urls %v, meta leader %d", c.Nodes(), c.URLs(), c.MetaLeader())
	}
	roundTrip(t, c, 0, 2)

	js, err := jetstream.New(connect(t, c.ClientURL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	leader, err := c.WaitStreamLeader(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	leader = (leader + 1) % 3
	if err := c.MoveStreamLeader(ctx, "S", leader); err != nil {
		t.Fatal(err)
	}
	if got := c.StreamLeader("S"); got != leader {
		t.Fatalf("stream leader %d after the move to %d", got, leader)
	}

	if err := c.Kill(leader); err != nil {
		t.Fatal(err)
	}
	if c.Running(leader) || c.Server(leader) != nil {
		t.Fatalf("server %d still running after Kill", leader)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	next, err := c.WaitStreamLeader(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if next == leader {
		t.Fatalf("the killed server %d still leads the stream", leader)
	}
	if _, err := js.Publish(ctx, "s.2", []byte("two")); err != nil {
		t.Fatalf("publish with one server down: %v", err)
	}

	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitStreamLeader(ctx, "S"); err != nil { // every replica current again
		t.Fatal(err)
	}
	roundTrip(t, c, leader, next)
	s, err := js.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 2 {
		t.Fatalf("stream holds %d messages after the restart, want 2", n)
	}
}

func TestErrors(t *testing.T) {
	c := StartTB(t, Options{Nodes: 1, NoJetStream: true})
	tests := []struct {
		name string
		op   func() error
		want error // nil: any error
	}{
		{"kill an unknown server", func() error { return c.Kill(3) }, nil},
		{"restart an unknown server", func() error { return c.Restart(-1) }, nil},
		{"kill after close", func() error { c.Close(); return c.Kill(0) }, ErrClosed},
		{"restart after close", func() error { return c.Restart(0) }, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, want an error (%v)", err, tt.want)
			}
		})
	}
}
