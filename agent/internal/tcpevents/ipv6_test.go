//go:build linux && (amd64 || arm64)

package tcpevents

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// TestIPv6 checks the addresses, ports, family and owner of one IPv6 loopback connection
// made and accepted by the test process itself.
func TestIPv6(t *testing.T) {
	tr := openTracker(t, Config{})
	c := collect(t, tr)
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer ln.Close()
	srv := uint16(ln.Addr().(*net.TCPAddr).Port)
	accepted := make(chan net.Conn, 1)
	go func() {
		a, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- a
	}()
	conn, err := net.Dial("tcp6", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cli := uint16(conn.LocalAddr().(*net.TCPAddr).Port)
	conn.Close()
	if a := <-accepted; a != nil {
		a.Close()
	}

	lo, pid := netip.IPv6Loopback(), uint32(os.Getpid())
	want := map[Kind]Event{
		Listen:  {Kind: Listen, Family: afInet6, SrcIP: lo, SrcPort: srv, DstIP: netip.IPv6Unspecified(), PID: pid},
		Connect: {Kind: Connect, Family: afInet6, SrcIP: lo, SrcPort: cli, DstIP: lo, DstPort: srv, PID: pid},
		Accept:  {Kind: Accept, Family: afInet6, SrcIP: lo, SrcPort: srv, DstIP: lo, DstPort: cli, PID: pid},
	}
	got := map[Kind]Event{}
	ok := c.waitFor(10*time.Second, func(events []Event) bool {
		for _, e := range events {
			if w, ok := want[e.Kind]; ok && e.SrcPort == w.SrcPort && e.DstPort == w.DstPort {
				got[e.Kind] = e
			}
		}
		return len(got) == len(want)
	})
	if !ok {
		t.Fatalf("saw %v of the listen, connect and accept events", got)
	}
	for k, w := range want {
		g := got[k]
		if g.Cookie == 0 || g.NetNS == 0 || g.Comm == "" || g.Time.IsZero() {
			t.Errorf("%v event without cookie, netns, comm or time: %+v", k, g)
		}
		g.Cookie, g.NetNS, g.Comm, g.Time = 0, 0, "", time.Time{}
		if g != w {
			t.Errorf("%v event:\n got %+v\nwant %+v", k, g, w)
		}
	}
	if d := time.Since(got[Connect].Time); d < 0 || d > time.Minute {
		t.Errorf("connect event dated %v, %v from now", got[Connect].Time, d)
	}
}
