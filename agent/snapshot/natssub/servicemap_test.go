package natssub

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/proctag/proctag/agent/internal/golden"
	"github.com/proctag/proctag/agent/snapshot"
)

// edgeHost is a host whose ends the fleet does not have: a client of an
// outside address, an accepted connection from an outside client, and an
// accepted connection whose listener is gone (both its sockets say client).
func edgeHost() *snapshot.Snapshot {
	return thost("e", "", []snapshot.Process{tproc(10, "fetch", 1), tproc(20, "gate", 1), tproc(30, "peer", 1), tproc(40, "orphan", 1)},
		[]snapshot.Socket{
			tconn("tcp", "10.0.0.5:33000", "192.0.2.10:443", "client", 1, 1, 10),
			tlisten("tcp", "0.0.0.0", 22, 2, 1, 20),
			tconn("tcp", "10.0.0.5:22", "198.51.100.7:5555", "server", 3, 1, 20),
			tconn("tcp", "127.0.0.1:50000", "127.0.0.1:7000", "client", 4, 1, 30),
			tconn("tcp", "127.0.0.1:7000", "127.0.0.1:50000", "client", 5, 1, 40),
		}, []snapshot.NetNSAddrs{taddrs(1, "10.0.0.5")},
		[]snapshot.Connection{tclosed("10.0.0.5:22", "198.51.100.8:6000", "server", 1, 20, "gate", 9)})
}

func TestServiceMap(t *testing.T) {
	x := fleetIndex(t, FlowConfig{})
	x.Apply(full(edgeHost(), "e1", 1))
	m := x.ServiceMap()
	byKey := map[string]Edge{}
	for _, e := range m.Edges {
		k := e.Client.String() + " -> " + e.Server.String() + " " + e.Proto
		if _, dup := byKey[k]; dup {
			t.Errorf("edge %s twice", k)
		}
		byKey[k] = e
	}
	for _, tc := range []struct {
		name         string
		edge         string
		open, closed int
	}{
		{"loopback, counted once from the client", "a/web -> a/redis tcp", 1, 0},
		{"cross host by listener", "a/web -> b/postgres tcp", 1, 0},
		{"short connection, counted once", "a/curl -> b/postgres tcp", 0, 1},
		{"container to its host's bridge address", "a/app -> a/web tcp", 1, 0},
		{"container loopback", "a/app -> a/nginx tcp", 1, 0},
		{"udp", "a/web -> b/dns udp", 1, 0},
		{"b's own loopback, two connections, not a's redis", "b/worker-b -> b/redis-b tcp", 2, 0},
		{"unresolved server as ip:port", "e/fetch -> 192.0.2.10:443 tcp", 1, 0},
		{"unresolved client as its ip", "198.51.100.7 -> e/gate tcp", 1, 0},
		{"unresolved client of a short connection", "198.51.100.8 -> e/gate tcp", 0, 1},
		{"two client sockets: from the higher port", "e/peer -> e/orphan tcp", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := byKey[tc.edge]
			if !ok {
				t.Fatalf("no edge %s in %v", tc.edge, keys(byKey))
			}
			if e.Open != tc.open || e.Closed != tc.closed {
				t.Errorf("edge %s: open %d closed %d, want %d and %d", tc.edge, e.Open, e.Closed, tc.open, tc.closed)
			}
		})
	}
	if _, ok := byKey["e/orphan -> e/peer tcp"]; ok {
		t.Error("the connection of two client sockets is counted from both ends")
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "servicemap.golden"), append(b, '\n'))
}

func keys(m map[string]Edge) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
