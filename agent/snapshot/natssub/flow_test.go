package natssub

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/proctag/proctag/agent/snapshot"
)

// Builders of synthetic hosts.

func tproc(pid int, name string, netns uint64) snapshot.Process {
	return snapshot.Process{PID: pid, PPID: 1, StartTime: int64(pid) * 10, Name: name, ProcessName: name, MatchedRule: -1, NetNSID: netns}
}

// tlisten is a TCP listener (LISTEN) or, for udp, a bound UDP socket.
func tlisten(proto, ip string, port uint16, inode, netns uint64, pid int) snapshot.Socket {
	s := snapshot.Socket{Proto: proto, LocalIP: ip, LocalPort: port, RemoteIP: "0.0.0.0", State: "LISTEN", Role: "server",
		Inode: inode, PIDs: []int{pid}, NetNSID: netns}
	if proto == "tcp6" || proto == "udp6" {
		s.RemoteIP = "::"
	}
	if proto == "udp" || proto == "udp6" {
		s.State = "CLOSE"
	}
	return s
}

// tconn is a connected socket "lip:lport rip:rport" with role client or server.
func tconn(proto, local, remote, role string, inode, netns uint64, pids ...int) snapshot.Socket {
	l, r := netip.MustParseAddrPort(local), netip.MustParseAddrPort(remote)
	return snapshot.Socket{Proto: proto, LocalIP: l.Addr().String(), LocalPort: l.Port(), RemoteIP: r.Addr().String(),
		RemotePort: r.Port(), State: "ESTABLISHED", Role: role, Inode: inode, PIDs: pids, NetNSID: netns}
}

// tclosed is one end of a short TCP connection.
func tclosed(local, remote, role string, netns uint64, pid int, name string, cookie uint64) snapshot.Connection {
	l, r := netip.MustParseAddrPort(local), netip.MustParseAddrPort(remote)
	return snapshot.Connection{Proto: "tcp", LocalIP: l.Addr().String(), LocalPort: l.Port(), RemoteIP: r.Addr().String(),
		RemotePort: r.Port(), Role: role, NetNSID: netns, Cookie: cookie, PID: pid, StartTime: int64(pid) * 10, Name: name}
}

func taddrs(netns uint64, ips ...string) snapshot.NetNSAddrs {
	a := snapshot.NetNSAddrs{NetNSID: netns}
	for _, ip := range ips {
		a.Addrs = append(a.Addrs, snapshot.Addr{IP: ip, PrefixLen: 24, Interface: "eth0"})
	}
	return a
}

func thost(id, network string, procs []snapshot.Process, socks []snapshot.Socket, addrs []snapshot.NetNSAddrs, closed []snapshot.Connection) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Host: snapshot.Host{HostID: id, Network: network}, Processes: procs, Sockets: socks, Addresses: addrs, Closed: closed}
	s.Sort()
	return s
}

func full(s *snapshot.Snapshot, epoch string, seq uint64) snapshot.Change {
	return snapshot.Change{HostID: s.Host.HostID, Kind: snapshot.KindSnapshot, Epoch: epoch, Seq: seq, State: s}
}

// deltaChange is the change a subscriber delivers for the delta from prev
// to next.
func deltaChange(t testing.TB, prev, next *snapshot.Snapshot, epoch string, seq uint64) snapshot.Change {
	t.Helper()
	d := snapshot.Diff(prev, next)
	state, err := d.Apply(prev)
	if err != nil {
		t.Fatal(err)
	}
	return snapshot.Change{HostID: next.Host.HostID, Kind: snapshot.KindDelta, Epoch: epoch, Seq: seq, State: state, Delta: d}
}

func tflow(proto Proto, src, dst, network string) Flow {
	return Flow{Proto: proto, Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), Network: network}
}

// fleet is the hosts of the lookup tests:
//
//	a: root netns 1 (10.0.0.1, 172.17.0.1, 2001:db8::1), container netns 2
//	   (172.17.0.2); web talks to redis over loopback, to b's postgres, to
//	   its own container's app; the container's app talks to web on the
//	   bridge and to nginx over its own loopback.
//	b: 10.0.0.2, 172.17.0.1 (another bridge with the same address),
//	   2001:db8::2: postgres on 0.0.0.0:5432, api on 10.0.0.2:9000, a
//	   dual-stack tls on :::443, dns on udp 0.0.0.0:53, its own redis.
//	c: network vpc2, 10.0.0.2 too, an impostor on 5432.
//	d: no addresses published; spec on 10.0.0.7:7000.
func fleet() []*snapshot.Snapshot {
	a := thost("a", "", []snapshot.Process{
		tproc(100, "web", 1), tproc(150, "decoy", 1), tproc(160, "curl", 1), tproc(200, "redis", 1),
		tproc(300, "app", 2), tproc(400, "nginx", 2),
	}, []snapshot.Socket{
		tlisten("tcp", "127.0.0.1", 6379, 1, 1, 200),
		tconn("tcp", "127.0.0.1:40000", "127.0.0.1:6379", "client", 2, 1, 100),
		tconn("tcp", "127.0.0.1:6379", "127.0.0.1:40000", "server", 3, 1, 200),
		tconn("tcp", "10.0.0.1:40001", "10.0.0.2:5432", "client", 4, 1, 100, 101),
		tlisten("tcp", "0.0.0.0", 80, 5, 2, 400),
		tconn("tcp", "172.17.0.2:40002", "172.17.0.1:8080", "client", 6, 2, 300),
		tlisten("tcp6", "::", 8080, 7, 1, 100),
		tlisten("tcp", "127.0.0.1", 80, 8, 1, 150),
		tconn("tcp", "127.0.0.1:43000", "127.0.0.1:80", "client", 9, 2, 300),
		tconn("udp", "10.0.0.1:50000", "10.0.0.2:53", "client", 10, 1, 100),
		tconn("tcp6", "[2001:db8::1]:5555", "[2001:db8::2]:443", "client", 11, 1, 100),
		tconn("tcp", "10.0.0.1:40003", "10.0.0.7:7000", "client", 12, 1, 100),
		tconn("tcp6", "[::ffff:10.0.0.1]:40004", "[::ffff:10.0.0.2]:9000", "client", 13, 1, 100),
	}, []snapshot.NetNSAddrs{
		{NetNSID: 1, Addrs: []snapshot.Addr{{IP: "10.0.0.1", PrefixLen: 24, Interface: "eth0"}, {IP: "127.0.0.1", PrefixLen: 8, Interface: "lo"},
			{IP: "172.17.0.1", PrefixLen: 16, Interface: "docker0"}, {IP: "2001:db8::1", PrefixLen: 64, Interface: "eth0"}}},
		{NetNSID: 2, Addrs: []snapshot.Addr{{IP: "127.0.0.1", PrefixLen: 8, Interface: "lo"}, {IP: "172.17.0.2", PrefixLen: 16, Interface: "eth0"}}},
	}, []snapshot.Connection{
		tclosed("10.0.0.1:45000", "10.0.0.2:5432", "client", 1, 160, "curl", 1),
	})
	b := thost("b", "", []snapshot.Process{
		tproc(500, "postgres", 1), tproc(510, "redis-b", 1), tproc(520, "worker-b", 1), tproc(530, "dns", 1),
		tproc(600, "api", 1), tproc(700, "other", 1), tproc(900, "tls", 1),
	}, []snapshot.Socket{
		tlisten("tcp", "0.0.0.0", 5432, 1, 1, 500),
		tlisten("tcp", "10.0.0.2", 9000, 2, 1, 600),
		tlisten("tcp6", "::", 443, 3, 1, 900),
		tlisten("udp", "0.0.0.0", 53, 4, 1, 530),
		tlisten("tcp", "127.0.0.1", 6379, 5, 1, 510),
		tconn("tcp", "127.0.0.1:40000", "127.0.0.1:6379", "client", 6, 1, 520),
		tconn("tcp", "127.0.0.1:42000", "127.0.0.1:6379", "client", 7, 1, 520),
		tlisten("tcp", "0.0.0.0", 8080, 8, 1, 700),
	}, []snapshot.NetNSAddrs{taddrs(1, "10.0.0.2", "172.17.0.1", "2001:db8::2")}, []snapshot.Connection{
		tclosed("10.0.0.2:5432", "10.0.0.1:45000", "server", 1, 500, "postgres", 2),
	})
	c := thost("c", "vpc2", []snapshot.Process{tproc(100, "impostor", 1)},
		[]snapshot.Socket{tlisten("tcp", "0.0.0.0", 5432, 1, 1, 100)},
		[]snapshot.NetNSAddrs{taddrs(1, "10.0.0.2")}, nil)
	d := thost("d", "", []snapshot.Process{tproc(800, "spec", 1)},
		[]snapshot.Socket{tlisten("tcp", "10.0.0.7", 7000, 1, 1, 800)}, nil, nil)
	return []*snapshot.Snapshot{a, b, c, d}
}

func fleetIndex(t testing.TB, cfg FlowConfig) *FlowIndex {
	t.Helper()
	x := NewFlowIndex(cfg)
	for _, s := range fleet() {
		x.Apply(full(s, "e1", 1))
	}
	return x
}

// want is an expected end: host, pid, how ("" host: unresolved).
type want struct {
	host string
	pid  int
	how  Resolution
}

func (w want) matches(e End) bool {
	if w.host == "" {
		return e == End{}
	}
	return e.HostID == w.host && e.PID == w.pid && e.How == w.how
}

func (w want) String() string {
	if w.host == "" {
		return "unresolved"
	}
	return fmt.Sprintf("%s/%d by %s", w.host, w.pid, w.how)
}

func TestLookup(t *testing.T) {
	x := fleetIndex(t, FlowConfig{})
	none := want{}
	for _, tc := range []struct {
		name           string
		flow           Flow
		client, server want
	}{
		{"loopback both sockets; the same 4-tuple on b: lowest host id", tflow(ProtoTCP, "127.0.0.1:40000", "127.0.0.1:6379", ""),
			want{"a", 100, BySocket}, want{"a", 200, BySocket}},
		{"loopback on the client's host only: b's redis by its listener", tflow(ProtoTCP, "127.0.0.1:42000", "127.0.0.1:6379", ""),
			want{"b", 520, BySocket}, want{"b", 510, ByListener}},
		{"loopback with no client: no host to look on", tflow(ProtoTCP, "127.0.0.1:41000", "127.0.0.1:6379", ""),
			none, none},
		{"loopback in a container: its netns, not the host's", tflow(ProtoTCP, "127.0.0.1:43000", "127.0.0.1:80", ""),
			want{"a", 300, BySocket}, want{"a", 400, ByListener}},
		{"cross host via 0.0.0.0 listener and host address", tflow(ProtoTCP, "10.0.0.1:40001", "10.0.0.2:5432", ""),
			want{"a", 100, BySocket}, want{"b", 500, ByListener}},
		{"network domain picks the vpc2 host", tflow(ProtoTCP, "10.0.0.9:40001", "10.0.0.2:5432", "vpc2"),
			none, want{"c", 100, ByListener}},
		{"unknown network matches nothing", tflow(ProtoTCP, "10.0.0.1:40001", "10.0.0.2:5432", "vpc9"),
			none, none},
		{"specific-IP listener", tflow(ProtoTCP, "10.0.0.1:40004", "10.0.0.2:9000", ""),
			want{"a", 100, BySocket}, want{"b", 600, ByListener}},
		{"IPv4-mapped flow addresses are IPv4", tflow(ProtoTCP, "[::ffff:10.0.0.1]:40004", "[::ffff:10.0.0.2]:9000", ""),
			want{"a", 100, BySocket}, want{"b", 600, ByListener}},
		{"specific-IP listener serves only its IP", tflow(ProtoTCP, "10.0.0.1:40004", "10.0.0.2:9001", ""),
			none, none},
		{"specific-IP listener of a host without addresses", tflow(ProtoTCP, "10.0.0.1:40003", "10.0.0.7:7000", ""),
			want{"a", 100, BySocket}, want{"d", 800, ByListener}},
		{"container to the host's bridge address: the client's host wins", tflow(ProtoTCP, "172.17.0.2:40002", "172.17.0.1:8080", ""),
			want{"a", 300, BySocket}, want{"a", 100, ByListener}},
		{"bridge address without a client: lowest host id", tflow(ProtoTCP, "172.17.0.9:1", "172.17.0.1:8080", ""),
			none, want{"a", 100, ByListener}},
		{"IPv6 to a :: listener", tflow(ProtoTCP, "[2001:db8::1]:5555", "[2001:db8::2]:443", ""),
			want{"a", 100, BySocket}, want{"b", 900, ByListener}},
		{"IPv4 to a dual-stack :: listener", tflow(ProtoTCP, "10.0.0.1:1234", "10.0.0.2:443", ""),
			none, want{"b", 900, ByListener}},
		{"udp connected client, bound server", tflow(ProtoUDP, "10.0.0.1:50000", "10.0.0.2:53", ""),
			want{"a", 100, BySocket}, want{"b", 530, ByListener}},
		{"udp is not tcp", tflow(ProtoTCP, "10.0.0.1:50000", "10.0.0.2:53", ""),
			none, none},
		{"short connection, both ends closed", tflow(ProtoTCP, "10.0.0.1:45000", "10.0.0.2:5432", ""),
			want{"a", 160, ByClosed}, want{"b", 500, ByClosed}},
		{"nothing listens", tflow(ProtoTCP, "10.0.0.1:1", "10.0.0.2:1", ""),
			none, none},
		{"zero flow", Flow{}, none, none},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := x.Lookup(tc.flow)
			if !tc.client.matches(got.Client) || !tc.server.matches(got.Server) {
				t.Errorf("Lookup = client %+v, server %+v; want client %v, server %v", got.Client, got.Server, tc.client, tc.server)
			}
		})
	}
	// An end carries the process's identity and name.
	got := x.Lookup(tflow(ProtoTCP, "10.0.0.1:40001", "10.0.0.2:5432", ""))
	wantClient := End{How: BySocket, HostID: "a", NetNSID: 1, PID: 100, StartTime: 1000, Name: "web"}
	if got.Client != wantClient || got.Server.Name != "postgres" || got.Server.StartTime != 5000 {
		t.Errorf("ends %+v, want client %+v and server postgres started at 5000", got, wantClient)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	x := fleetIndex(t, FlowConfig{})
	flows := []Flow{
		tflow(ProtoTCP, "127.0.0.1:40000", "127.0.0.1:6379", ""),
		tflow(ProtoTCP, "172.17.0.2:40002", "172.17.0.1:8080", ""),
		tflow(ProtoTCP, "10.0.0.1:45000", "10.0.0.2:5432", ""),
		tflow(ProtoTCP, "10.0.0.9:40001", "10.0.0.2:5432", "vpc2"),
		tflow(ProtoTCP, "10.0.0.1:1", "10.0.0.7:7000", ""),
	}
	for _, f := range flows {
		if n := testing.AllocsPerRun(100, func() { x.Lookup(f) }); n != 0 {
			t.Errorf("Lookup(%v -> %v) allocates %v times", f.Src, f.Dst, n)
		}
	}
}

// TestDeltas follows host b through deltas: a new connection and its
// accepted socket, a removed listener, a moved address, a process renamed;
// then a seq gap, a new epoch that replaces the host, and its removal.
func TestDeltas(t *testing.T) {
	x := fleetIndex(t, FlowConfig{})
	hosts := fleet()
	b1 := hosts[1]
	pg := tflow(ProtoTCP, "10.0.0.1:40001", "10.0.0.2:5432", "")
	check := func(step string, f Flow, client, server want) {
		t.Helper()
		got := x.Lookup(f)
		if !client.matches(got.Client) || !server.matches(got.Server) {
			t.Errorf("%s: Lookup(%v -> %v) = client %+v, server %+v; want %v, %v", step, f.Src, f.Dst, got.Client, got.Server, client, server)
		}
	}

	// seq 2: postgres accepted a's connection, api's listener is gone,
	// postgres is renamed.
	b2 := b1.Clone()
	b2.Sockets = append(b2.Sockets, tconn("tcp", "10.0.0.2:5432", "10.0.0.1:40001", "server", 20, 1, 500))
	b2.Sockets = slices.DeleteFunc(b2.Sockets, func(s snapshot.Socket) bool { return s.Inode == 2 })
	b2.Processes[0].Name = "pg"
	b2.Closed = nil
	b2.Sort()
	x.Apply(deltaChange(t, b1, b2, "e1", 2))
	check("accepted socket", pg, want{"a", 100, BySocket}, want{"b", 500, BySocket})
	if got := x.Lookup(pg).Server.Name; got != "pg" {
		t.Errorf("renamed process: server name %q, want pg", got)
	}
	check("removed listener", tflow(ProtoTCP, "10.0.0.1:40004", "10.0.0.2:9000", ""), want{"a", 100, BySocket}, want{})

	// seq 3: b's address moves to 10.0.0.3.
	b3 := b2.Clone()
	b3.Addresses = []snapshot.NetNSAddrs{taddrs(1, "10.0.0.3")}
	x.Apply(deltaChange(t, b2, b3, "e1", 3))
	check("old address", tflow(ProtoTCP, "10.0.0.9:1", "10.0.0.2:5432", ""), want{}, want{})
	check("new address", tflow(ProtoTCP, "10.0.0.9:1", "10.0.0.3:5432", ""), want{}, want{"b", 500, ByListener})

	// seq 5 after a dropped seq 4: the host is rebuilt from the state.
	b5 := b3.Clone()
	b5.Sockets = slices.DeleteFunc(b5.Sockets, func(s snapshot.Socket) bool { return s.Inode == 20 })
	b5.Sockets = append(b5.Sockets, tlisten("tcp", "0.0.0.0", 6000, 21, 1, 600))
	b5.Sort()
	gap := deltaChange(t, b3, b5, "e1", 5)
	x.Apply(gap)
	check("after a gap", pg, want{"a", 100, BySocket}, want{})
	check("after a gap, new listener", tflow(ProtoTCP, "10.0.0.9:1", "10.0.0.3:6000", ""), want{}, want{"b", 600, ByListener})

	// A heartbeat: the same state with a later scan time changes nothing.
	hb := *gap.State
	x.Apply(snapshot.Change{HostID: "b", Kind: snapshot.KindHeartbeat, Epoch: "e1", Seq: 5, State: &hb})
	check("after a heartbeat", tflow(ProtoTCP, "10.0.0.9:1", "10.0.0.3:6000", ""), want{}, want{"b", 600, ByListener})

	// A new epoch: the agent restarted with only a listener on 7000.
	bNew := thost("b", "", []snapshot.Process{tproc(1000, "fresh", 1)},
		[]snapshot.Socket{tlisten("tcp", "0.0.0.0", 7000, 1, 1, 1000)}, []snapshot.NetNSAddrs{taddrs(1, "10.0.0.2")}, nil)
	x.Apply(full(bNew, "e2", 1))
	check("new epoch, old listener", tflow(ProtoTCP, "10.0.0.9:1", "10.0.0.3:6000", ""), want{}, want{})
	check("new epoch, new listener", tflow(ProtoTCP, "10.0.0.9:1", "10.0.0.2:7000", ""), want{}, want{"b", 1000, ByListener})
	check("new epoch keeps the short connections", tflow(ProtoTCP, "10.0.0.1:45000", "10.0.0.2:5432", ""),
		want{"a", 160, ByClosed}, want{"b", 500, ByClosed})

	// A host without a state any more is dropped.
	x.Apply(snapshot.Change{HostID: "b", Epoch: "e3"})
	check("dropped host", tflow(ProtoTCP, "10.0.0.9:1", "10.0.0.2:7000", ""), want{}, want{})
	check("dropped host's short connections", tflow(ProtoTCP, "10.0.0.1:45000", "10.0.0.2:5432", ""), want{"a", 160, ByClosed}, want{})
	if n := x.Hosts(); n != 3 {
		t.Errorf("%d hosts after the drop, want 3", n)
	}
}

// TestNetworkChange: a host whose delta moves it to another network is
// found under the new one only.
func TestNetworkChange(t *testing.T) {
	x := fleetIndex(t, FlowConfig{})
	c1 := fleet()[2]
	c2 := c1.Clone()
	c2.Host.Network = "vpc3"
	x.Apply(deltaChange(t, c1, c2, "e1", 2))
	for _, tc := range []struct {
		network string
		server  want
	}{{"vpc2", want{}}, {"vpc3", want{"c", 100, ByListener}}} {
		if got := x.Lookup(tflow(ProtoTCP, "10.0.0.9:1", "10.0.0.2:5432", tc.network)).Server; !tc.server.matches(got) {
			t.Errorf("network %s: server %+v, want %v", tc.network, got, tc.server)
		}
	}
}

// TestClosedRetention: short connections are kept for ClosedTicks state
// messages of their host and at most ClosedMax per host.
func TestClosedRetention(t *testing.T) {
	x := NewFlowIndex(FlowConfig{ClosedTicks: 2, ClosedMax: 3})
	s := func(closed ...snapshot.Connection) *snapshot.Snapshot {
		return thost("h", "", []snapshot.Process{tproc(1, "p", 1)}, nil, nil, closed)
	}
	c := func(port uint16) snapshot.Connection {
		return tclosed(fmt.Sprintf("10.0.0.1:%d", port), "10.0.0.2:80", "client", 1, 1, "p", uint64(port))
	}
	resolved := func(port uint16) bool {
		return x.Lookup(tflow(ProtoTCP, fmt.Sprintf("10.0.0.1:%d", port), "10.0.0.2:80", "")).Client.How == ByClosed
	}
	prev := s(c(1))
	x.Apply(full(prev, "e", 1))
	steps := []struct {
		closed []snapshot.Connection
		kept   []uint16
		gone   []uint16
	}{
		{nil, []uint16{1}, nil},                                                            // tick 2: kept for two ticks
		{[]snapshot.Connection{c(2)}, []uint16{2}, []uint16{1}},                            // tick 3: 1 is out
		{[]snapshot.Connection{c(3), c(4), c(5), c(6)}, []uint16{4, 5, 6}, []uint16{2, 3}}, // over ClosedMax
		{[]snapshot.Connection{c(4)}, []uint16{4, 5, 6}, nil},                              // 4 again, the oldest 4 out
		{nil, []uint16{4}, []uint16{5, 6}},                                                 // the newest 4 is kept
	}
	for i, st := range steps {
		next := s(st.closed...)
		x.Apply(deltaChange(t, prev, next, "e", uint64(i+2)))
		prev = next
		for _, p := range st.kept {
			if !resolved(p) {
				t.Errorf("tick %d: connection from port %d not resolved", i+2, p)
			}
		}
		for _, p := range st.gone {
			if resolved(p) {
				t.Errorf("tick %d: connection from port %d still resolved", i+2, p)
			}
		}
	}
}

// TestLookupSelfConnection: a socket connected to itself (TCP simultaneous
// open on one address and port) is both ends of its flow.
func TestLookupSelfConnection(t *testing.T) {
	x := NewFlowIndex(FlowConfig{})
	s := thost("s", "", []snapshot.Process{tproc(10, "selfie", 1)},
		[]snapshot.Socket{tconn("tcp", "127.0.0.1:5000", "127.0.0.1:5000", "client", 1, 1, 10)}, nil, nil)
	x.Apply(full(s, "e", 1))
	got := x.Lookup(tflow(ProtoTCP, "127.0.0.1:5000", "127.0.0.1:5000", ""))
	for _, e := range []End{got.Client, got.Server} {
		if e.How != BySocket || e.HostID != "s" || e.PID != 10 || e.Name != "selfie" {
			t.Fatalf("Lookup = %+v, want both ends s's pid 10 by its socket", got)
		}
	}
}
