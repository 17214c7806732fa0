package sockets

import (
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestCollectRealSockDiag collects the sockets of this process (in the
// agent's own network namespace) and of a listener and a sleeper in a new
// namespace twice, with Config.SockDiag and without: every table must come
// over sock_diag in the first case and from /proc/PID/net in the second,
// with the same report. Owners with an unreadable ns/net (NetNS 0) must
// still be read from /proc and placed in their real namespace, and a
// namespace left without owners must have its Conn closed.
func TestCollectRealSockDiag(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to create a network namespace (CLONE_NEWNET)")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	u, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	self := os.Getpid()
	child, _, childLn, sleeper, childNS := startInNewNetNS(t)

	newC := func(diag bool) *Collector {
		c, err := New(Config{Root: "/proc", SockDiag: diag}, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	diag, text := newC(true), newC(false)
	if !diag.diagOn {
		t.Fatal("SockDiag on /proc is off")
	}
	now := time.Now()
	for _, tt := range []struct {
		name   string
		owners []Owner
		// diagReads and textReads per Collect with SockDiag.
		diagReads, textReads uint64
		conns                int
	}{
		{"both namespaces", []Owner{realOwner(t, self), realOwner(t, child), realOwner(t, sleeper)}, 8, 0, 2},
		{"pid 1 and the sleeper hidden", []Owner{hiddenRealOwner(t, 1), realOwner(t, self), realOwner(t, child), hiddenRealOwner(t, sleeper)}, 8, 0, 2},
		{"the new namespace hidden", []Owner{realOwner(t, self), hiddenRealOwner(t, child)}, 4, 4, 1},
		{"only this namespace", []Owner{realOwner(t, self)}, 4, 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, full := range []bool{false, true} {
				d0, t0 := diag.diagReads.Load(), diag.tableReads.Load()
				got, err := diag.Collect(t.Context(), now, tt.owners, full)
				if err != nil {
					t.Fatal(err)
				}
				if d, x := diag.diagReads.Load()-d0, diag.tableReads.Load()-t0; d != tt.diagReads || x != tt.textReads {
					t.Errorf("full=%v: %d tables over sock_diag and %d from /proc, want %d and %d", full, d, x, tt.diagReads, tt.textReads)
				}
				want, err := text.Collect(t.Context(), now, tt.owners, full)
				if err != nil {
					t.Fatal(err)
				}
				if text.diagReads.Load() != 0 {
					t.Error("the Collector without SockDiag used sock_diag")
				}
				if !slices.EqualFunc(got, want, equalSocket) {
					t.Errorf("full=%v: sock_diag report differs from /proc:\n%v\nwant\n%v", full, got, want)
				}
				if n := len(diag.diags); n != tt.conns {
					t.Errorf("%d sock_diag sources kept, want %d", n, tt.conns)
				}
				if !slices.ContainsFunc(got, func(s Socket) bool { return s.Inode == childLn }) && tt.conns == 2 {
					t.Errorf("listener of namespace %d (inode %d) not reported", childNS, childLn)
				}
			}
		})
	}
}

// equalSocket compares Sockets field by field.
func equalSocket(a, b Socket) bool {
	return a.Proto == b.Proto && a.Local == b.Local && a.Remote == b.Remote && a.State == b.State &&
		a.Role == b.Role && a.Inode == b.Inode && a.NetNS == b.NetNS && slices.Equal(a.PIDs, b.PIDs) &&
		a.FirstSeen.Equal(b.FirstSeen)
}

// TestCollectRealSockDiagFallback passes this process with a NetNS that is
// not its namespace (as when its pid was reused), so no Conn can be
// opened for it: the tables must be read from /proc/PID/net, the open not
// tried again before a full Collect, and the report be the same as
// without SockDiag.
func TestCollectRealSockDiagFallback(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	o := realOwner(t, os.Getpid())
	o.NetNS = 1 // no namespace has inode 1
	c, err := New(Config{Root: "/proc", SockDiag: true}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	text := newCollector(t, "/proc", 0)
	now := time.Now()
	for i, full := range []bool{false, false, true} {
		got, err := c.Collect(t.Context(), now, []Owner{o}, full)
		if err != nil {
			t.Fatal(err)
		}
		if d, x := c.diagReads.Load(), c.tableReads.Load(); d != 0 || x != uint64(4*(i+1)) {
			t.Errorf("Collect %d: %d tables over sock_diag, %d from /proc in all, want 0 and %d", i, d, x, 4*(i+1))
		}
		if d := c.diags[1]; d == nil || !d.off || d.conn != nil {
			t.Errorf("Collect %d: the namespace's source is %+v, want off without a Conn", i, d)
		}
		want, err := text.Collect(t.Context(), now, []Owner{o}, full)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, equalSocket) || len(got) == 0 {
			t.Errorf("Collect %d: report differs from /proc or is empty:\n%v\nwant\n%v", i, got, want)
		}
	}
}
