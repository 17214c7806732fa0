package sockets

import (
	"net/netip"
	"testing"
)

// TestHolds searches a list in Collect's order for each socket it holds
// and for near misses in each field of the search key.
func TestHolds(t *testing.T) {
	ap := netip.MustParseAddrPort
	socks := []Socket{
		{NetNS: 0, Proto: "tcp", Local: ap("10.0.0.1:80"), Remote: ap("10.0.0.2:5000")},
		{NetNS: 7, Proto: "tcp", Local: ap("127.0.0.1:80"), Remote: ap("127.0.0.1:4000")},
		{NetNS: 7, Proto: "tcp", Local: ap("127.0.0.1:80"), Remote: ap("127.0.0.1:4001")},
		{NetNS: 7, Proto: "tcp6", Local: ap("[::1]:80"), Remote: ap("[::1]:4000")},
		{NetNS: 9, Proto: "udp", Local: ap("0.0.0.0:53"), Remote: ap("0.0.0.0:0")},
	}
	for _, s := range socks {
		if !Holds(socks, s.NetNS, s.Proto, s.Local, s.Remote) {
			t.Errorf("%+v not found", s)
		}
	}
	for _, tt := range []struct {
		ns            uint64
		proto         string
		local, remote string
	}{
		{8, "tcp", "127.0.0.1:80", "127.0.0.1:4000"},
		{7, "tcp6", "127.0.0.1:80", "127.0.0.1:4000"},
		{7, "tcp", "127.0.0.1:81", "127.0.0.1:4000"},
		{7, "tcp", "127.0.0.1:80", "127.0.0.1:4002"},
	} {
		if Holds(socks, tt.ns, tt.proto, ap(tt.local), ap(tt.remote)) {
			t.Errorf("%+v found", tt)
		}
	}
}
