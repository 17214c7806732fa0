package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/publish"
	"github.com/proctag/proctag/agent/snapshot"
)

// tickingAgent runs a publisher for host that submits its state every
// interval, as the agent's tick loop does, until the test ends.
func tickingAgent(t *testing.T, url, host string, interval time.Duration) {
	t.Helper()
	p, err := publish.New(publish.Config{URL: url, HostID: host, Interval: interval}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- p.Run(ctx) }()
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for scan := 1; ; scan++ {
			p.Submit(&snapshot.Snapshot{Host: snapshot.Host{HostID: host, ScanTime: time.Unix(int64(scan), 0)},
				Processes: []snapshot.Process{{PID: 10, StartTime: 1, Name: "svc-" + host, MatchedRule: -1}}}, snapshot.Stats{})
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("agent %s: %v", host, err)
			}
		}
	})
}

// TestWatchOnceJoinsEachHost: `proctag watch --once` of all hosts, without
// a JetStream stream, gets every host's state by asking each host on its
// own control subject when it hears from it, and never broadcasts.
func TestWatchOnceJoinsEachHost(t *testing.T) {
	srv, err := natsembed.Start(natsembed.Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	spy, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(spy.Close)
	broadcasts := make(chan *nats.Msg, 16)
	if _, err := spy.ChanSubscribe(snapshot.BroadcastControlSubject("proctag"), broadcasts); err != nil {
		t.Fatal(err)
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"w1", "w2"} {
		tickingAgent(t, srv.ClientURL(), h, 100*time.Millisecond)
	}
	out, err := execute(t, "watch", "--server", srv.ClientURL(), "--once", "--format", "json", "--wait", "20s")
	if err != nil {
		t.Fatalf("watch --once: %v\n%s", err, out)
	}
	var hosts []string
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var s snapshot.Snapshot
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("output is not a stream of snapshots: %v\n%s", err, out)
		}
		hosts = append(hosts, s.Host.HostID)
	}
	if !slices.Equal(hosts, []string{"w1", "w2"}) {
		t.Fatalf("watch --once printed hosts %v, want w1 and w2", hosts)
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-broadcasts:
		t.Fatalf("watch broadcast %q", m.Data)
	default:
	}
}
