package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/snapshot"
)

// TestFleetConsistent churns a small fleet and checks, after every
// host's pending changes are in its sockets, that each connection has
// both ends: the peer of every established socket has the reversed
// 4-tuple, on the host that owns the remote address.
func TestFleetConsistent(t *testing.T) {
	o := simOptions{hosts: 8, procs: 40, sockets: 300, seed: 3, network: "sim"}
	now := time.Now()
	f := newFleet(o, now)
	byIP := map[string]*simHost{}
	for _, h := range f.hosts {
		byIP[h.ip] = h
	}
	check := func(round int) {
		t.Helper()
		for _, h := range f.hosts {
			h.flush()
		}
		for _, h := range f.hosts {
			if len(h.socks) < o.sockets/2 || len(h.procs) != o.procs {
				t.Fatalf("round %d: %s has %d processes, %d sockets", round, h.id, len(h.procs), len(h.socks))
			}
			for _, s := range h.socks {
				if s.State != "ESTABLISHED" {
					continue
				}
				peer := h
				if s.RemoteIP != "127.0.0.1" {
					peer = byIP[s.RemoteIP]
				}
				local := netip.MustParseAddrPort(s.LocalIP + ":" + itoa(s.LocalPort))
				remote := netip.MustParseAddrPort(s.RemoteIP + ":" + itoa(s.RemotePort))
				if _, ok := snapshot.FindSocket(peer.socks, netnsID, "tcp", remote, local); !ok {
					t.Fatalf("round %d: %s %s %v -> %v has no other end on %s", round, h.id, s.Role, local, remote, peer.id)
				}
			}
		}
	}
	check(0)
	for round := 1; round <= 50; round++ {
		for _, h := range f.hosts {
			if h.rng.IntN(2) == 0 {
				f.churn(h, 2, 5, now)
			}
			if h.rng.IntN(3) == 0 { // some hosts take a snapshot between their peers' changes
				h.snapshot(now, "e", time.Second)
			}
		}
		check(round)
	}
}

func itoa(p uint16) string {
	return netip.AddrPortFrom(netip.IPv4Unspecified(), p).String()[len("0.0.0.0:"):]
}
