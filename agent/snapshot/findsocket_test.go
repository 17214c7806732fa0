package snapshot

import (
	"net/netip"
	"slices"
	"testing"
)

// TestFindSocket searches a list in snapshot order for each socket it holds
// and for near misses in each field of the search key.
func TestFindSocket(t *testing.T) {
	socks := []Socket{
		{NetNSID: 0, Proto: "tcp", LocalIP: "10.0.0.1", LocalPort: 80, RemoteIP: "10.0.0.2", RemotePort: 5000, Inode: 1},
		{NetNSID: 7, Proto: "tcp", LocalIP: "9.0.0.1", LocalPort: 80, RemoteIP: "127.0.0.1", RemotePort: 4000, Inode: 2},
		{NetNSID: 7, Proto: "tcp", LocalIP: "127.0.0.1", LocalPort: 80, RemoteIP: "127.0.0.1", RemotePort: 4000, Inode: 3},
		{NetNSID: 7, Proto: "tcp", LocalIP: "127.0.0.1", LocalPort: 80, RemoteIP: "127.0.0.1", RemotePort: 4001, Inode: 4},
		{NetNSID: 7, Proto: "tcp6", LocalIP: "::1", LocalPort: 80, RemoteIP: "::1", RemotePort: 4000, Inode: 5},
		{NetNSID: 9, Proto: "udp", LocalIP: "0.0.0.0", LocalPort: 53, RemoteIP: "0.0.0.0", RemotePort: 0, Inode: 6},
	}
	s := &Snapshot{Sockets: socks}
	s.Sort()
	for i, sk := range socks {
		at, ok := FindSocket(socks, sk.NetNSID, sk.Proto,
			netip.AddrPortFrom(netip.MustParseAddr(sk.LocalIP), sk.LocalPort), netip.AddrPortFrom(netip.MustParseAddr(sk.RemoteIP), sk.RemotePort))
		if !ok || at != i {
			t.Errorf("%+v: found %v at %d, want at %d", sk, ok, at, i)
		}
	}
	ap := netip.MustParseAddrPort
	for _, tt := range []struct {
		ns            uint64
		proto         string
		local, remote string
	}{
		{8, "tcp", "127.0.0.1:80", "127.0.0.1:4000"},
		{7, "tcp6", "127.0.0.1:80", "127.0.0.1:4000"},
		{7, "tcp", "127.0.0.1:81", "127.0.0.1:4000"},
		{7, "tcp", "127.0.0.1:80", "127.0.0.1:4002"},
		{7, "tcp", "127.0.0.2:80", "127.0.0.1:4000"},
		{0, "tcp", "10.0.0.1:80", "10.0.0.3:5000"},
	} {
		if _, ok := FindSocket(socks, tt.ns, tt.proto, ap(tt.local), ap(tt.remote)); ok {
			t.Errorf("%+v found", tt)
		}
	}
}

// TestSocketOrderAsDocumented checks the socket order WIRE.md states:
// netns_id, proto as a string, then addresses numerically with every IPv4
// address before every IPv6 one, ports, inode.
func TestSocketOrderAsDocumented(t *testing.T) {
	want := []Socket{
		{NetNSID: 1, Proto: "tcp", LocalIP: "9.0.0.1", LocalPort: 80},
		{NetNSID: 1, Proto: "tcp", LocalIP: "10.0.0.1", LocalPort: 80, RemoteIP: "1.1.1.1"},
		{NetNSID: 1, Proto: "tcp", LocalIP: "10.0.0.1", LocalPort: 80, RemoteIP: "1.1.1.1", RemotePort: 2, Inode: 1},
		{NetNSID: 1, Proto: "tcp", LocalIP: "10.0.0.1", LocalPort: 80, RemoteIP: "1.1.1.1", RemotePort: 2, Inode: 2},
		{NetNSID: 1, Proto: "tcp", LocalIP: "10.0.0.1", LocalPort: 81},
		{NetNSID: 1, Proto: "tcp", LocalIP: "255.255.255.255", LocalPort: 1},
		{NetNSID: 1, Proto: "tcp", LocalIP: "::", LocalPort: 1},
		{NetNSID: 1, Proto: "tcp", LocalIP: "::1", LocalPort: 1},
		{NetNSID: 1, Proto: "tcp", LocalIP: "2001:db8::1", LocalPort: 1},
		{NetNSID: 1, Proto: "tcp6", LocalIP: "1.2.3.4", LocalPort: 1},
		{NetNSID: 1, Proto: "udp", LocalIP: "0.0.0.0", LocalPort: 53},
		{NetNSID: 2, Proto: "tcp", LocalIP: "0.0.0.0", LocalPort: 1},
	}
	got := &Snapshot{Sockets: slices.Clone(want)}
	slices.Reverse(got.Sockets)
	got.Sort()
	if !slices.EqualFunc(got.Sockets, want, func(a, b Socket) bool { return compareSockets(a, b) == 0 }) {
		t.Errorf("sorted:\n%v\nwant:\n%v", got.Sockets, want)
	}
}

// BenchmarkFindSocket looks up established sockets among 100,000, as the
// agent does for each connection an event source saw open.
func BenchmarkFindSocket(b *testing.B) {
	s := synth(10_000, 100_000, 1)
	s.Sort()
	type query struct {
		ns            uint64
		proto         string
		local, remote netip.AddrPort
	}
	var qs []query
	for i := 0; i < len(s.Sockets); i += 97 {
		k := &s.Sockets[i]
		qs = append(qs, query{k.NetNSID, k.Proto,
			netip.AddrPortFrom(netip.MustParseAddr(k.LocalIP), k.LocalPort),
			netip.AddrPortFrom(netip.MustParseAddr(k.RemoteIP), k.RemotePort)})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := &qs[i%len(qs)]
		if _, ok := FindSocket(s.Sockets, q.ns, q.proto, q.local, q.remote); !ok {
			b.Fatalf("query %d not found", i%len(qs))
		}
		i++
	}
}
