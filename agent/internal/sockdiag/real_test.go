package sockdiag

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
	"github.com/proctag/proctag/agent/internal/waitfor"
)

// reported are the queries of the rows the sockets package reports: TCP
// in LISTEN or ESTABLISHED, UDP unconnected (CLOSE) or connected.
var reported = []Query{
	{Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, States: States(StateListen, StateEstablished)},
	{Family: unix.AF_INET6, Proto: unix.IPPROTO_TCP, States: States(StateListen, StateEstablished)},
	{Family: unix.AF_INET, Proto: unix.IPPROTO_UDP, States: States(StateClose, StateEstablished)},
	{Family: unix.AF_INET6, Proto: unix.IPPROTO_UDP, States: States(StateClose, StateEstablished)},
}

// dumpAll returns the sockets of every query.
func dumpAll(t *testing.T, c *Conn, qs ...Query) []Socket {
	t.Helper()
	var got []Socket
	for _, q := range qs {
		if err := c.Dump(q, func(s Socket) { got = append(got, s) }); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// listenTCP listens without MPTCP, which net.Listen uses by default since
// Go 1.24: an MPTCP listener's SO_COOKIE is that of the MPTCP socket,
// while the TCP tables (dump and /proc/net/tcp alike) hold its TCP
// subflow listener, whose cookie differs.
func listenTCP(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(t.Context(), network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// needRoot skips t unless it runs as root.
func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to " + why)
	}
}

// fdOf returns the descriptor of a net.Conn or net.Listener and keeps it
// from being closed by the garbage collector until the test ends.
func fdOf(t *testing.T, c any) uintptr {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no descriptor", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	if err := rc.Control(func(f uintptr) { fd = f }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// expect describes socket c as a dump should: its addresses as the kernel
// holds them (Go shows an accepted IPv4 connection of a dual-stack
// listener with mapped addresses; the kernel's report unmaps them), its
// inode, cookie, family and the given state and uid.
func expect(t *testing.T, c any, proto, state uint8, uid uint32) Socket {
	t.Helper()
	fd := int(fdOf(t, c))
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	cookie, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE)
	if err != nil {
		t.Fatal(err)
	}
	family, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		t.Fatal(err)
	}
	s := Socket{Cookie: cookie, Inode: st.Ino, UID: uid, Family: uint8(family), Proto: proto, State: state}
	addr := func(a net.Addr) netip.AddrPort {
		if a == nil {
			return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
		}
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			t.Fatal(err)
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	switch c := c.(type) {
	case net.Listener:
		s.Local = addr(c.Addr())
		s.Remote = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	case *net.UDPConn:
		s.Local, s.Remote = addr(c.LocalAddr()), addr(c.RemoteAddr())
	case net.Conn:
		s.Local, s.Remote = addr(c.LocalAddr()), addr(c.RemoteAddr())
	}
	if s.Family == unix.AF_INET6 && s.Remote.Addr() == netip.IPv4Unspecified() {
		s.Remote = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	return s
}

// withFSUID runs fn with the calling thread's fsuid set to uid, so that
// the sockets fn creates belong to uid (sock_init_data takes the inode's
// uid, which is the creator's fsuid). The thread must be locked.
func withFSUID(uid int, fn func() error) error {
	unix.Setfsuid(uid)
	defer unix.Setfsuid(0)
	return fn()
}

// sortSockets orders sockets for comparison.
func sortSockets(s []Socket) {
	slices.SortFunc(s, func(a, b Socket) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
}

// TestDumpNewNetNS builds, in a new network namespace, listeners (IPv4,
// IPv6, dual-stack), connections of three uids, UDP sockets unconnected
// and connected, a connection left in CLOSE_WAIT and one in TIME_WAIT.
// The reporting dumps must hold exactly the listeners, the established
// ends and the UDP sockets, with every field as the socket's own
// descriptor shows it; a dump of all states must hold the others, so the
// kernel's filter is what left them out.
func TestDumpNewNetNS(t *testing.T) {
	needRoot(t, "create a network namespace")
	ns, err := loopconn.NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var want []Socket
	var closeWait, timeWait [2]netip.AddrPort // local and remote addresses
	tcp, udp := uint8(unix.IPPROTO_TCP), uint8(unix.IPPROTO_UDP)
	err = ns.Do(func() error {
		listen := func(network, addr string) net.Listener {
			l := listenTCP(t, network, addr)
			want = append(want, expect(t, l, tcp, StateListen, 0))
			return l
		}
		pair := func(l net.Listener, network string, uid int, keep bool) (c, a net.Conn) {
			if err := withFSUID(uid, func() (err error) {
				port := l.Addr().(*net.TCPAddr).Port
				host := "127.0.0.1"
				if network == "tcp6" {
					host = "::1"
				}
				c, err = net.Dial(network, net.JoinHostPort(host, fmt.Sprint(port)))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			a, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close(); a.Close() })
			if keep {
				want = append(want, expect(t, c, tcp, StateEstablished, uint32(uid)), expect(t, a, tcp, StateEstablished, 0))
			}
			return c, a
		}
		pair(listen("tcp4", "127.0.0.1:0"), "tcp4", 1000, true)
		pair(listen("tcp6", "[::1]:0"), "tcp6", 1001, true)
		pair(listen("tcp", "[::]:0"), "tcp4", 1002, true) // dual-stack, IPv4 client
		c, a := pair(listen("tcp4", "127.0.0.1:0"), "tcp4", 0, false)
		closeWait = tuple(a)
		_ = c.Close() // a: CLOSE_WAIT, c: FIN_WAIT2
		c, a = pair(listen("tcp4", "127.0.0.1:0"), "tcp4", 0, false)
		timeWait = tuple(c)
		_ = c.Close()
		_ = a.Close() // c: TIME_WAIT
		var u4, u6 *net.UDPConn
		if err := withFSUID(1003, func() (err error) {
			u4, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		u6, err := net.DialUDP("udp6", nil, &net.UDPAddr{IP: net.IPv6loopback, Port: 9})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { u4.Close(); u6.Close() })
		want = append(want, expect(t, u4, udp, StateClose, 1003), expect(t, u6, udp, StateEstablished, 0))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenNetNS(ns.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	all := Query{Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, States: ^uint32(0)}
	stateOf := func(tu [2]netip.AddrPort) uint8 {
		for _, s := range dumpAll(t, c, all) {
			if s.Local == tu[0] && s.Remote == tu[1] {
				return s.State
			}
		}
		return 0
	}
	waitfor.Until(t, 10*time.Second, func() bool {
		return stateOf(closeWait) == StateCloseWait && stateOf(timeWait) == StateTimeWait
	}, "the closed connections did not reach CLOSE_WAIT and TIME_WAIT")

	t.Run("reported states", func(t *testing.T) {
		got := dumpAll(t, c, reported...)
		sortSockets(got)
		sortSockets(want)
		if !slices.Equal(got, want) {
			t.Errorf("dump:\n%s\nwant:\n%s", lines(got), lines(want))
		}
	})
	t.Run("the filter is the kernel's", func(t *testing.T) {
		got := dumpAll(t, c, all)
		for _, tu := range [][2]netip.AddrPort{closeWait, timeWait} {
			if !slices.ContainsFunc(got, func(s Socket) bool { return s.Local == tu[0] && s.Remote == tu[1] }) {
				t.Errorf("%s missing from the dump of all states:\n%s", tu, lines(got))
			}
		}
	})
}

// tuple returns the local and remote addresses of c.
func tuple(c net.Conn) [2]netip.AddrPort {
	return [2]netip.AddrPort{netip.MustParseAddrPort(c.LocalAddr().String()), netip.MustParseAddrPort(c.RemoteAddr().String())}
}

// lines prints sockets one per line.
func lines(s []Socket) string {
	var b strings.Builder
	for _, x := range s {
		fmt.Fprintf(&b, "\t%+v\n", x)
	}
	return b.String()
}

// TestDumpThisNetNS dumps the test's own namespace, which other processes
// share: the test's listener and both ends of its connection must be in
// it with their fields.
func TestDumpThisNetNS(t *testing.T) {
	l := listenTCP(t, "tcp4", "127.0.0.1:0")
	cl, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Close()
	uid := uint32(os.Geteuid())
	tcp := uint8(unix.IPPROTO_TCP)
	want := []Socket{expect(t, l, tcp, StateListen, uid), expect(t, cl, tcp, StateEstablished, uid), expect(t, sv, tcp, StateEstablished, uid)}
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := dumpAll(t, c, reported...)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%+v missing from the dump:\n%s", w, lines(slices.DeleteFunc(slices.Clone(got), func(s Socket) bool { return s.Local.Port() != w.Local.Port() })))
		}
	}
}

// TestOpenNetNSNotANamespace gives OpenNetNS a descriptor that is not a
// network namespace: setns fails, and the error says so.
func TestOpenNetNSNotANamespace(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := OpenNetNS(int(f.Fd()))
	if err == nil {
		c.Close()
		t.Fatal("OpenNetNS of /dev/null succeeded")
	}
	if !strings.Contains(err.Error(), "enter network namespace") {
		t.Errorf("error %q does not name the step", err)
	}
}
