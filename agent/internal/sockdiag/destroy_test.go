package sockdiag

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
)

// runDestroys runs d until the test ends and returns the channel of its
// events; the cleanup stops Run and checks that it ended with the
// context's error.
func runDestroys(t *testing.T, d *Destroys) <-chan Socket {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	events := make(chan Socket, 1024)
	done := make(chan error, 1)
	go func() {
		done <- d.Run(ctx, func(s Socket) {
			select {
			case events <- s:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run ended with %v, want context.Canceled", err)
		}
		d.Close()
	})
	return events
}

// dialAccept connects to l and returns both ends of the connection.
func dialAccept(l net.Listener) (client, server net.Conn, err error) {
	c, err := net.Dial(l.Addr().Network(), l.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	a, err := l.Accept()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, a, nil
}

// destroysInNewNetNS subscribes to the TCP destroy groups of a new network
// namespace, closed at the end of the test, and runs the Destroys
// (runDestroys).
func destroysInNewNetNS(t *testing.T) (*loopconn.NetNS, *Destroys, <-chan Socket) {
	t.Helper()
	needRoot(t, "create a network namespace")
	ns, err := loopconn.NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	d, err := SubscribeNetNS(ns.NS, TCP)
	if err != nil {
		t.Fatal(err)
	}
	return ns, d, runDestroys(t, d)
}

// TestDestroyShortConnections subscribes to the TCP destroy groups of a
// new network namespace and makes 50 short connections in it (connect,
// accept, close both ends). An event must arrive for both ends of each,
// with the 4-tuple and the cookie the socket had (so the server end is
// tied to the listener by its local address), protocol TCP, and the uid
// and inode that the kernel leaves 0.
func TestDestroyShortConnections(t *testing.T) {
	ns, d, events := destroysInNewNetNS(t)
	var err error
	const conns = 50
	want := map[[2]netip.AddrPort]uint64{} // 4-tuple -> cookie
	var listener netip.AddrPort
	err = ns.Do(func() error {
		l := listenTCP(t, "tcp4", "127.0.0.1:0")
		listener = netip.MustParseAddrPort(l.Addr().String())
		for range conns {
			c, a, err := dialAccept(l)
			if err != nil {
				return err
			}
			for _, s := range []net.Conn{c, a} {
				e := expect(t, s, unix.IPPROTO_TCP, StateEstablished, 0)
				want[tuple(s)] = e.Cookie
			}
			if err := c.Close(); err != nil {
				return err
			}
			if err := a.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	servers := 0
	for len(want) > 0 {
		select {
		case s := <-events:
			tu := [2]netip.AddrPort{s.Local, s.Remote}
			cookie, ok := want[tu]
			if !ok {
				t.Errorf("unexpected event %+v", s)
				continue
			}
			delete(want, tu)
			if s.Cookie != cookie || s.Proto != unix.IPPROTO_TCP || s.Family != unix.AF_INET || s.Inode != 0 || s.UID != 0 {
				t.Errorf("event %+v, want cookie %d, TCP, AF_INET, inode and uid 0", s, cookie)
			}
			if s.Local == listener {
				servers++
			}
		case <-deadline.C:
			t.Fatalf("%d of %d sockets closed without an event", len(want), 2*conns)
		}
	}
	if servers != conns {
		t.Errorf("%d events on the listener's address, want %d", servers, conns)
	}
	if n := d.Lost(); n != 0 {
		t.Errorf("%d overruns", n)
	}
}

// TestDestroyClose closes a Destroys while Run waits: Run returns an error
// wrapping os.ErrClosed.
func TestDestroyClose(t *testing.T) {
	d, err := Subscribe(TCP4)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(t.Context(), func(Socket) {}) }()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, os.ErrClosed) {
		t.Errorf("Run after Close: %v, want os.ErrClosed", err)
	}
}

// dropCaps clears the effective capabilities of the calling thread, which
// must be locked and must never run anything else (capabilities are per
// thread).
func dropCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Effective, data[1].Effective = 0, 0
	return unix.Capset(&hdr, &data[0])
}

// TestWithoutCapabilities dumps, subscribes and closes a connection from
// the thread of a new network namespace that then drops every effective
// capability, as an unprivileged agent would. The dump works. On this
// kernel the destroy groups work too (the sock_diag kernel socket is
// created with NL_CFG_F_NONROOT_RECV and sock_diag_bind checks no
// capability); a kernel that refuses gives EPERM, which the test accepts.
func TestWithoutCapabilities(t *testing.T) {
	needRoot(t, "create a network namespace")
	ns, err := loopconn.NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var d *Destroys
	var dumped int
	var closed [2]netip.AddrPort
	err = ns.Do(func() error {
		if err := dropCaps(); err != nil {
			return err
		}
		c, err := Open()
		if err != nil {
			return err
		}
		defer c.Close()
		// SO_RCVBUFFORCE needs CAP_NET_ADMIN: the drop took effect.
		if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 1<<20); !errors.Is(err, unix.EPERM) {
			t.Errorf("SO_RCVBUFFORCE after dropping capabilities: %v, want EPERM", err)
		}
		l := listenTCP(t, "tcp4", "127.0.0.1:0")
		if err := c.Dump(reported[0], func(Socket) { dumped++ }); err != nil {
			return err
		}
		if d, err = Subscribe(TCP4); err != nil {
			return err
		}
		cl, a, err := dialAccept(l)
		if err != nil {
			return err
		}
		closed = tuple(a)
		cl.Close()
		return a.Close()
	})
	if errors.Is(err, unix.EPERM) && d == nil {
		t.Skipf("this kernel refuses the destroy groups without CAP_NET_ADMIN: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if dumped != 1 {
		t.Errorf("dump without capabilities: %d sockets, want the listener", dumped)
	}
	events := runDestroys(t, d)
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case s := <-events:
			if s.Local == closed[0] && s.Remote == closed[1] {
				return
			}
		case <-deadline.C:
			t.Fatalf("no destroy event for %s without capabilities", closed)
		}
	}
}

// TestDestroyForged sends a Destroys, from another netlink socket of its
// namespace (root may), a well-formed destroy message copied from the
// kernel and a malformed one: neither may be reported nor stop Run, both
// are counted, and the real events of a connection closed afterwards still
// arrive.
func TestDestroyForged(t *testing.T) {
	ns, d, events := destroysInNewNetNS(t)
	var port uint32
	var err error
	if err := d.rc.Control(func(fd uintptr) {
		sa, serr := unix.Getsockname(int(fd))
		if serr != nil {
			err = serr
			return
		}
		port = sa.(*unix.SockaddrNetlink).Pid
	}); err != nil {
		t.Fatal(err)
	}
	forged := [][]byte{readFixture(t, "tcp4_established"), {0xde, 0xad, 0xbe, 0xef, 0, 0}}
	var local, remote [2]netip.AddrPort
	err = ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for _, b := range forged {
			if err := unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: port}); err != nil {
				return fmt.Errorf("send the forged message: %w", err)
			}
		}
		c, a, err := dialAccept(listenTCP(t, "tcp4", "127.0.0.1:0"))
		if err != nil {
			return err
		}
		local, remote = tuple(c), tuple(a)
		c.Close()
		a.Close()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]netip.AddrPort]bool{local: true, remote: true}
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for len(want) > 0 {
		select {
		case s := <-events:
			tu := [2]netip.AddrPort{s.Local, s.Remote}
			if !want[tu] {
				t.Fatalf("reported %+v, which is not the closed connection's (a forged message?)", s)
			}
			delete(want, tu)
		case <-deadline.C:
			t.Fatalf("%d of the 2 real closes not reported after the forged messages", len(want))
		}
	}
	if n := d.Dropped(); n != uint64(len(forged)) {
		t.Errorf("Dropped() = %d, want %d", n, len(forged))
	}
}
