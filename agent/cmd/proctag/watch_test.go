package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/snapshot"
)

// TestWatchOnceJoinsEachHost: `proctag watch --once` of all hosts, without
// a JetStream stream, gets every host's state by asking each host on its
// own control subject when it hears from it, and never broadcasts.
func TestWatchOnceJoinsEachHost(t *testing.T) {
	srv := startNATS(t)
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
		publishState(t, srv.ClientURL(), &snapshot.Snapshot{Host: snapshot.Host{HostID: h},
			Processes: []snapshot.Process{{PID: 10, StartTime: 1, Name: "svc-" + h, MatchedRule: -1}}}, 100*time.Millisecond)
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
