package sockets

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// removeSocket takes the socket inode out of table proto of namespace ns
// and out of the fd/ of each of pids, in the tree written under dir.
func removeSocket(t *testing.T, dir string, tree *fakeproc.Tree, ns uint64, proto fakeproc.Proto, inode uint64, pids ...int) {
	t.Helper()
	if proto != fakeproc.TCP {
		t.Fatalf("removeSocket handles tcp only")
	}
	tabs := tree.NetNS[ns]
	tabs.TCP = slices.DeleteFunc(tabs.TCP, func(e fakeproc.SockEntry) bool { return e.Inode == inode })
	tree.NetNS[ns] = tabs
	link := fmt.Sprintf("socket:[%d]", inode)
	for _, pid := range pids {
		i := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == pid })
		p := tree.Procs[i]
		p.FDs = slices.DeleteFunc(slices.Clone(p.FDs), func(fd fakeproc.FD) bool { return fd.Target == link })
		if err := tree.Rewrite(dir, p); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, fmt.Sprint(pids[0]), "net", proto.String())
	if err := os.WriteFile(file, fakeproc.NetTable(proto, tabs.TCP), 0o444); err != nil {
		t.Fatal(err)
	}
}

// rewalkHost is n owners from pid 1000 on, all of one uid in one
// namespace, each holding one ESTABLISHED client socket (inode = pid), and
// process 9000, which is not reported; c has collected it once.
type rewalkHost struct {
	dir    string
	tree   *fakeproc.Tree
	pids   []int
	owners []Owner
	c      *Collector
}

func newRewalkHost(t *testing.T, n int) *rewalkHost {
	t.Helper()
	h := &rewalkHost{tree: &fakeproc.Tree{BootTime: bootTime}}
	for pid := 1000; pid < 1000+n; pid++ {
		h.tree.Procs = append(h.tree.Procs, proc(pid, 1, uint64(pid), nsA))
		h.tree.AddSocket(nsA, fakeproc.TCP, tableRow(uint64(pid), fmt.Sprintf("10.0.0.1:%d", 20000+pid), "10.0.0.7:5432", fakeproc.TCPEstablished), pid)
		h.pids = append(h.pids, pid)
	}
	h.tree.Procs = append(h.tree.Procs, proc(9000, 1, 9000, nsA))
	h.dir = writeTree(t, h.tree)
	h.c = newCollector(t, h.dir, 0)
	h.owners = ownersOf(t, h.tree, h.pids...)
	if _, err := h.c.Collect(t.Context(), time.Now(), h.owners, false); err != nil {
		t.Fatal(err)
	}
	return h
}

// add adds a new ESTABLISHED socket to the host, held by pid.
func (h *rewalkHost) add(t *testing.T, inode uint64, local string, pid int) {
	t.Helper()
	addSocket(t, h.dir, h.tree, nsA, fakeproc.TCP, tableRow(inode, local, "10.0.0.7:5432", fakeproc.TCPEstablished), pid)
}

// collectWalks runs one steady Collect and returns how many owners it
// walked and whether it reported the socket inode.
func collectWalks(t *testing.T, c *Collector, owners []Owner, inode uint64) (walks uint64, found bool) {
	t.Helper()
	before := c.walks.Load()
	got, err := c.Collect(t.Context(), time.Now(), owners, false)
	if err != nil {
		t.Fatal(err)
	}
	return c.walks.Load() - before, slices.ContainsFunc(got, func(s Socket) bool { return s.Inode == inode })
}

// TestRewalkSettles checks that a new socket held by no reported process
// has every candidate owner walked once, maxRewalk per Collect, and then
// causes no walks again until the next full Collect.
func TestRewalkSettles(t *testing.T) {
	const n = maxRewalk + 50
	h := newRewalkHost(t, n)
	c, owners := h.c, h.owners
	h.add(t, 70, "10.0.0.1:45000", 9000)
	var walks []uint64
	var pending []int
	for range 4 {
		w, found := collectWalks(t, c, owners, 70)
		if found {
			t.Fatal("a socket that no reported process holds was reported")
		}
		walks = append(walks, w)
		pending = append(pending, c.Pending())
	}
	if want := []uint64{maxRewalk, n - maxRewalk, 0, 0}; !slices.Equal(walks, want) {
		t.Errorf("owners walked again per Collect: %v, want %v", walks, want)
	}
	if want := []int{1, 0, 0, 0}; !slices.Equal(pending, want) {
		t.Errorf("sockets pending after each Collect: %v, want %v", pending, want)
	}
}

// TestRewalkReachesEveryCandidate checks that a new socket whose
// candidates the bound cut off is found by a later steady Collect, not
// left for the next full one.
func TestRewalkReachesEveryCandidate(t *testing.T) {
	const n = maxRewalk + 50
	h := newRewalkHost(t, n)
	c, owners := h.c, h.owners
	// The candidates were all walked in the same Collect and rank alike:
	// the holder is any of them, found by the first or the second.
	holder := h.pids[len(h.pids)-1]
	h.add(t, 70, "10.0.0.1:45000", holder)
	total := uint64(0)
	for i := range 2 {
		w, found := collectWalks(t, c, owners, 70)
		total += w
		if found {
			if total > n {
				t.Errorf("found after walking %d owners again, more than the %d candidates", total, n)
			}
			if p := c.Pending(); p != 0 {
				t.Errorf("%d sockets pending once the only new one was found, want 0", p)
			}
			return
		}
		if p := c.Pending(); p != 1 {
			t.Errorf("%d sockets pending while the new one is not found, want 1", p)
		}
		if i == 0 && w != maxRewalk {
			t.Errorf("first Collect walked %d owners again, want %d", w, maxRewalk)
		}
	}
	t.Fatalf("socket of owner %d not found by two steady Collects (%d owners walked again)", holder, total)
}

// TestRewalkLostFirst checks that when the candidates are more than the
// bound, the owners that lost a socket since their last walk are walked
// first: a connection pool that replaced a connection is found in the
// same Collect, although the order of least recent walks puts it last.
func TestRewalkLostFirst(t *testing.T) {
	h := newRewalkHost(t, maxRewalk+50)
	c := h.c
	// A new owner, walked after all others.
	const pool = 5000
	h.tree.Procs = append(h.tree.Procs, proc(pool, 1, pool, nsA))
	h.add(t, pool, "10.0.0.1:30000", pool)
	owners := append(h.owners, ownersOf(t, h.tree, pool)...)
	if _, found := collectWalks(t, c, owners, pool); !found {
		t.Fatal("the new owner's socket was not reported")
	}
	// It replaces its connection.
	removeSocket(t, h.dir, h.tree, nsA, fakeproc.TCP, pool, pool)
	h.add(t, 71, "10.0.0.1:30001", pool)
	w, found := collectWalks(t, c, owners, 71)
	if !found {
		t.Errorf("the replaced connection was not found by the next Collect (%d owners walked again)", w)
	}
	if w > maxRewalk {
		t.Errorf("%d owners walked again, more than the bound %d", w, maxRewalk)
	}
}
