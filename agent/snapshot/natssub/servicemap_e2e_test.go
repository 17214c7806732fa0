package natssub_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/publish"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// tick publishes s through a real publisher every interval until the test
// ends, as the agent's tick loop does; s's short connections (Closed) go
// out with the first tick only, as they belong to one interval.
func tick(t *testing.T, url string, s *snapshot.Snapshot, interval time.Duration) {
	t.Helper()
	p, err := publish.New(publish.Config{URL: url, HostID: s.Host.HostID, Interval: interval}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- p.Run(ctx) }()
	go func() {
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for scan := 1; ; scan++ {
			next := *s
			next.Host.ScanTime = time.Unix(int64(scan), 0)
			if scan > 1 {
				next.Closed = nil
			}
			p.Submit(&next, snapshot.Stats{})
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-tk.C:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("publisher of %s: %v", s.Host.HostID, err)
			}
		}
	})
}

// TestServiceMapOverNATS: two simulated hosts published by the real
// publisher on an in-process server, followed by a real Subscriber whose
// changes feed a FlowIndex: the connection of a's client to b's server
// resolves on both ends, and the service map has its edge.
func TestServiceMapOverNATS(t *testing.T) {
	srv, err := natsembed.Start(natsembed.Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	a := &snapshot.Snapshot{Host: snapshot.Host{HostID: "a", Network: "vpc"},
		Processes: []snapshot.Process{{PID: 10, StartTime: 1, Name: "client", MatchedRule: -1, NetNSID: 1}},
		Sockets: []snapshot.Socket{{Proto: "tcp", LocalIP: "10.9.0.1", LocalPort: 41000, RemoteIP: "10.9.0.2", RemotePort: 8080,
			State: "ESTABLISHED", Role: "client", Inode: 1, PIDs: []int{10}, NetNSID: 1}},
		Addresses: []snapshot.NetNSAddrs{{NetNSID: 1, Addrs: []snapshot.Addr{{IP: "10.9.0.1", PrefixLen: 24, Interface: "eth0"}}}},
	}
	b := &snapshot.Snapshot{Host: snapshot.Host{HostID: "b", Network: "vpc"},
		Processes: []snapshot.Process{{PID: 20, StartTime: 2, Name: "server", MatchedRule: -1, NetNSID: 1}},
		Sockets: []snapshot.Socket{{Proto: "tcp", LocalIP: "0.0.0.0", LocalPort: 8080, RemoteIP: "0.0.0.0",
			State: "LISTEN", Role: "server", Inode: 1, PIDs: []int{20}, NetNSID: 1}},
		Addresses: []snapshot.NetNSAddrs{{NetNSID: 1, Addrs: []snapshot.Addr{{IP: "10.9.0.2", PrefixLen: 24, Interface: "eth0"}}}},
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := natssub.New(nc, natssub.Config{ResyncMinGap: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := natssub.NewFlowIndex(natssub.FlowConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 1)
	done := make(chan struct{}, 2)
	go func() { _ = sub.Run(ctx); done <- struct{}{} }()
	go func() {
		x.Follow(ctx, sub, func(snapshot.Change) {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
		done <- struct{}{}
	}()
	t.Cleanup(func() { cancel(); <-done; <-done })
	select {
	case <-sub.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("subscriber not ready within 20s")
	}
	tick(t, srv.ClientURL(), a, 100*time.Millisecond)
	tick(t, srv.ClientURL(), b, 100*time.Millisecond)

	flow := natssub.Flow{Proto: natssub.ProtoTCP, Src: netip.MustParseAddrPort("10.9.0.1:41000"),
		Dst: netip.MustParseAddrPort("10.9.0.2:8080"), Network: "vpc"}
	deadline := time.After(20 * time.Second)
	for {
		ends := x.Lookup(flow)
		if ends.Client.Name == "client" && ends.Server.Name == "server" {
			if ends.Client.How != natssub.BySocket || ends.Server.How != natssub.ByListener || ends.Server.HostID != "b" {
				t.Fatalf("ends %+v, want a's client by its socket and b's server by its listener", ends)
			}
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("flow not resolved within 20s: %+v", ends)
		}
	}
	m := x.ServiceMap()
	want := natssub.Edge{Client: natssub.Node{HostID: "a", Name: "client"}, Server: natssub.Node{HostID: "b", Name: "server"},
		Proto: "tcp", Port: 8080, Open: 1}
	if len(m.Edges) != 1 || m.Edges[0] != want {
		t.Fatalf("service map %+v, want the one edge %+v", m.Edges, want)
	}
}
