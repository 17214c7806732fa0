package sockets

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/sockdiag"
	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
)

// diagNetNS creates a network namespace holding, from this process,
// 100 loopback pairs of loopconn, IPv6 and dual-stack listeners with a
// connection each, UDP sockets unconnected and connected, sockets of
// uids 0 and 1000-1003, and connections left in CLOSE_WAIT, FIN_WAIT2 and
// TIME_WAIT.
func diagNetNS(t *testing.T) *loopconn.NetNS {
	t.Helper()
	ns, err := loopconn.NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	var closers []func() error
	t.Cleanup(func() {
		for _, c := range closers {
			_ = c()
		}
	})
	asUID := func(uid int, fn func() error) error {
		unix.Setfsuid(uid)
		defer unix.Setfsuid(0)
		return fn()
	}
	listen := func(network, addr string) (net.Listener, error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		l, err := lc.Listen(t.Context(), network, addr)
		if err == nil {
			closers = append(closers, l.Close)
		}
		return l, err
	}
	dial := func(l net.Listener, network, addr string, uid int) (c, a net.Conn, err error) {
		if err := asUID(uid, func() (err error) { c, err = net.Dial(network, addr); return err }); err != nil {
			return nil, nil, err
		}
		closers = append(closers, c.Close)
		if a, err = l.Accept(); err != nil {
			return nil, nil, err
		}
		closers = append(closers, a.Close)
		return c, a, nil
	}
	err = ns.Do(func() error {
		p, err := loopconn.Open(100)
		if err != nil {
			return err
		}
		closers = append(closers, p.Close)
		l6, err := listen("tcp6", "[::1]:0")
		if err != nil {
			return err
		}
		if _, _, err := dial(l6, "tcp6", l6.Addr().String(), 1000); err != nil {
			return err
		}
		ld, err := listen("tcp", "[::]:0")
		if err != nil {
			return err
		}
		if _, _, err := dial(ld, "tcp4", fmt.Sprintf("127.0.0.1:%d", ld.Addr().(*net.TCPAddr).Port), 1001); err != nil {
			return err
		}
		lw, err := listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		c, _, err := dial(lw, "tcp4", lw.Addr().String(), 0)
		if err != nil {
			return err
		}
		_ = c.Close() // CLOSE_WAIT and FIN_WAIT2
		c, a, err := dial(lw, "tcp4", lw.Addr().String(), 0)
		if err != nil {
			return err
		}
		_, _ = c.Close(), a.Close() // TIME_WAIT
		return asUID(1002, func() error {
			u4, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				return err
			}
			closers = append(closers, u4.Close)
			u6, err := net.DialUDP("udp6", nil, &net.UDPAddr{IP: net.IPv6loopback, Port: 9})
			if err != nil {
				return err
			}
			closers = append(closers, u6.Close)
			u, err := net.ListenUDP("udp", &net.UDPAddr{})
			if err != nil {
				return err
			}
			closers = append(closers, u.Close)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestDiagTableEqualsProcNet reads each socket table of a namespace twice,
// from /proc/PID/net text (readTable, the rows keep lets through) and over
// sock_diag netlink (diagTable): the two must be the same set of entries.
func TestDiagTableEqualsProcNet(t *testing.T) {
	if unix.Getuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	ns := diagNetNS(t)
	c, err := sockdiag.OpenNetNS(ns.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := newReader("/proc/self/task") // TID/net is the thread's namespace
	for i := range tables {
		tab := &tables[i]
		t.Run(tab.name, func(t *testing.T) {
			var proc, diag []parsedRow
			if err := r.readTable(ns.TID, tab, func(r *parsedRow) {
				if keep(tab, &r.e) {
					proc = append(proc, *r)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if err := diagTable(c, i, func(r *parsedRow) { diag = append(diag, *r) }); err != nil {
				t.Fatal(err)
			}
			sortEntries(proc)
			sortEntries(diag)
			if len(proc) == 0 {
				t.Fatal("no rows in /proc: the namespace was not built")
			}
			if !slices.Equal(proc, diag) {
				t.Errorf("sock_diag rows differ from /proc/net/%s:\n%s\nwant:\n%s", tab.name, entryLines(diag), entryLines(proc))
			}
		})
	}
}

func sortEntries(rs []parsedRow) {
	slices.SortFunc(rs, func(a, b parsedRow) int { return strings.Compare(a.String(), b.String()) })
}

func entryLines(rs []parsedRow) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\t%s\n", r)
	}
	return b.String()
}
