package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/runner/runnertest"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// twoHosts are web-1, whose api (two processes) holds two connections to
// db-1's postgres and one to an address no host has, and db-1, whose
// postgres accepted one of them and listens on 0.0.0.0:5432.
func twoHosts() []*snapshot.Snapshot {
	proc := func(pid int, name string) snapshot.Process {
		return snapshot.Process{PID: pid, PPID: 1, StartTime: int64(pid), Name: name, ProcessName: name, MatchedRule: -1, NetNSID: 1}
	}
	sock := func(local string, lport uint16, remote string, rport uint16, state, role string, inode uint64, pid int) snapshot.Socket {
		return snapshot.Socket{Proto: "tcp", LocalIP: local, LocalPort: lport, RemoteIP: remote, RemotePort: rport,
			State: state, Role: role, Inode: inode, PIDs: []int{pid}, NetNSID: 1}
	}
	web := &snapshot.Snapshot{Host: snapshot.Host{HostID: "web-1", Hostname: "web-1"},
		Processes: []snapshot.Process{proc(10, "api"), proc(11, "api")},
		Sockets: []snapshot.Socket{
			sock("10.1.0.1", 40000, "10.1.0.2", 5432, "ESTABLISHED", "client", 1, 10),
			sock("10.1.0.1", 40001, "10.1.0.2", 5432, "ESTABLISHED", "client", 2, 11),
			sock("10.1.0.1", 40002, "192.0.2.80", 443, "ESTABLISHED", "client", 3, 10),
		},
		Addresses: []snapshot.NetNSAddrs{{NetNSID: 1, Addrs: []snapshot.Addr{{IP: "10.1.0.1", PrefixLen: 24, Interface: "eth0"}}}},
	}
	db := &snapshot.Snapshot{Host: snapshot.Host{HostID: "db-1", Hostname: "db-1"},
		Processes: []snapshot.Process{proc(20, "postgres")},
		Sockets: []snapshot.Socket{
			sock("0.0.0.0", 5432, "0.0.0.0", 0, "LISTEN", "server", 1, 20),
			sock("10.1.0.2", 5432, "10.1.0.1", 40000, "ESTABLISHED", "server", 2, 20),
		},
		Addresses: []snapshot.NetNSAddrs{{NetNSID: 1, Addrs: []snapshot.Addr{{IP: "10.1.0.2", PrefixLen: 24, Interface: "eth0"}}}},
	}
	for _, s := range []*snapshot.Snapshot{web, db} {
		s.Sort()
	}
	return []*snapshot.Snapshot{web, db}
}

// TestMapTwoHosts: two simulated hosts published by the real publisher
// through an in-process server; `proctag map` draws web-1's api talking
// to db-1's postgres, in every format.
func TestMapTwoHosts(t *testing.T) {
	srv := startNATS(t)
	for _, s := range twoHosts() {
		publishState(t, srv.ClientURL(), s, 100*time.Millisecond)
	}
	out, err := execute(t, "map", "--server", srv.ClientURL(), "--format", "json", "--wait", "20s")
	if err != nil {
		t.Fatalf("map: %v\n%s", err, out)
	}
	var m natssub.ServiceMap
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("map --format json: %v\n%s", err, out)
	}
	want := []natssub.Edge{
		{Client: natssub.Node{HostID: "web-1", Name: "api"}, Server: natssub.Node{Addr: "192.0.2.80:443"}, Proto: "tcp", Port: 443, Open: 1},
		{Client: natssub.Node{HostID: "web-1", Name: "api"}, Server: natssub.Node{HostID: "db-1", Name: "postgres"}, Proto: "tcp", Port: 5432, Open: 2},
	}
	if len(m.Edges) != len(want) || m.Edges[0] != want[0] || m.Edges[1] != want[1] {
		t.Fatalf("map edges %+v, want %+v", m.Edges, want)
	}
	for _, format := range []string{"table", "dot", "mermaid"} {
		out, err := execute(t, "map", "--server", srv.ClientURL(), "--format", format, "--wait", "20s")
		if err != nil {
			t.Fatalf("map --format %s: %v\n%s", format, err, out)
		}
		golden(t, "map-two-hosts."+format+".golden", []byte(out))
	}
}

func TestMapRejectsFormat(t *testing.T) {
	if _, err := execute(t, "map", "--format", "svg"); err == nil {
		t.Fatal("map --format svg accepted")
	}
}

// TestMapLiveAgent runs the agent on this machine's /proc and `proctag map`
// against it: the spawned client (renamed e2e-worker by the rules) and
// server talk over loopback, and the map draws that edge.
func TestMapLiveAgent(t *testing.T) {
	url, sub := runLiveAgent(t, "map-host")
	_, client, port := startServer(t)
	runnertest.Wait(t, sub, "map-host", "the spawned processes' connection", func(s *snapshot.Snapshot) bool {
		for _, so := range s.Sockets {
			if so.RemotePort == uint16(port) && so.State == "ESTABLISHED" && pidsAre(so.PIDs, client) {
				return true
			}
		}
		return false
	})
	out, err := execute(t, "map", "--server", url, "--format", "json")
	if err != nil {
		t.Fatalf("map: %v\n%s", err, out)
	}
	var m natssub.ServiceMap
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("map --format json: %v\n%s", err, out)
	}
	want := natssub.Edge{Client: natssub.Node{HostID: "map-host", Name: "e2e-worker"},
		Server: natssub.Node{HostID: "map-host", Name: "proctag-e2e-server"}, Proto: "tcp", Port: uint16(port), Open: 1}
	found := false
	for _, e := range m.Edges {
		found = found || e == want
	}
	if !found {
		t.Fatalf("map has no edge %+v:\n%s", want, out)
	}
	table, err := execute(t, "map", "--server", url)
	if err != nil {
		t.Fatalf("map: %v", err)
	}
	t.Logf("proctag map on this machine:\n%s", table)
}
