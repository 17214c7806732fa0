package sockets

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestCollectGenerated checks Collect against what a generated host says
// must be found: every reportable row of every namespace with its owners
// from the fd links, in the snapshot order.
func TestCollectGenerated(t *testing.T) {
	tree := fakeproc.Generate(400, 4000, 7)
	dir := writeTree(t, tree)

	holders := map[uint64][]int{}
	var pids []int
	for _, p := range tree.Procs {
		if p.Argv == nil && p.RawCmdline == "" {
			continue
		}
		pids = append(pids, p.PID)
		for _, fd := range p.FDs {
			if s, ok := strings.CutPrefix(fd.Target, "socket:["); ok {
				ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				holders[ino] = append(holders[ino], p.PID)
			}
		}
	}
	want := map[uint64]string{}
	for ns, tabs := range tree.NetNS {
		for _, tab := range []struct {
			name    string
			udp     bool
			entries []fakeproc.SockEntry
		}{{"tcp", false, tabs.TCP}, {"tcp6", false, tabs.TCP6}, {"udp", true, tabs.UDP}, {"udp6", true, tabs.UDP6}} {
			for _, e := range tab.entries {
				ok := e.State == fakeproc.TCPListen || e.State == fakeproc.TCPEstablished
				if tab.udp {
					ok = e.Local.Port() != 0 && (e.State == fakeproc.TCPClose || e.State == fakeproc.TCPEstablished)
				}
				if h := holders[e.Inode]; ok && len(h) > 0 {
					slices.Sort(h)
					want[e.Inode] = fmt.Sprintf("%d %s %s %v", ns, tab.name, stateName(e.State), h)
				}
			}
		}
	}

	c := newCollector(t, dir, 0)
	got, err := c.Collect(t.Context(), time.Now(), ownersOf(t, tree, pids...), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) < 1000 {
		t.Errorf("Collect found %d sockets, the tree has %d reportable ones", len(got), len(want))
	}
	for _, s := range got {
		if g := fmt.Sprintf("%d %s %s %v", s.NetNS, s.Proto, s.State, s.PIDs); g != want[s.Inode] {
			t.Errorf("socket %d: got %q, want %q", s.Inode, g, want[s.Inode])
		}
		if s.Local.Addr().Is4In6() || s.Remote.Addr().Is4In6() {
			t.Errorf("socket %d: IPv4-mapped address not unmapped: %s %s", s.Inode, s.Local, s.Remote)
		}
	}
	if !slices.IsSortedFunc(got, compare) {
		t.Error("sockets are not in the snapshot order")
	}
}
