package sockets

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestCollectReusesParts checks that a Collect copies from the last report
// exactly the parts (namespace and transport) whose rows and holders did
// not change, and that its Sockets are still those a Collector without a
// past reports. host() has three parts with sockets: A's TCP, A's UDP and
// B's TCP (B has no UDP rows, an empty part that stands too).
func TestCollectReusesParts(t *testing.T) {
	tests := []struct {
		name string
		// change alters the host after the first Collect; the second is
		// full when full is set (holders change only where owners are
		// walked).
		change func(t *testing.T, dir string, tree *fakeproc.Tree)
		full   bool
		// reused is how many of the four parts the second Collect copies.
		reused uint64
	}{
		{name: "a connection in B replaced", reused: 3,
			change: func(t *testing.T, dir string, tree *fakeproc.Tree) {
				replaceSocket(t, dir, tree, nsB, 42, tableRow(43, "10.1.0.2:8080", "10.1.0.3:40002", fakeproc.TCPEstablished))
			}},
		{name: "a UDP socket in A opened", reused: 3,
			change: func(t *testing.T, dir string, tree *fakeproc.Tree) {
				addSocket(t, dir, tree, nsA, fakeproc.UDP, tableRow(35, "10.0.0.1:45001", "10.0.0.2:53", fakeproc.TCPEstablished), 102)
			}},
		{name: "a process of B gains a connection of A, no table changes", full: true, reused: 3,
			change: func(t *testing.T, dir string, tree *fakeproc.Tree) {
				addFD(t, dir, tree, 200, 11)
			}},
		{name: "one of a listener's two holders lets it go", full: true, reused: 3,
			change: func(t *testing.T, dir string, tree *fakeproc.Tree) {
				dropFD(t, dir, tree, 101, 10)
			}},
		{name: "a UDP socket's only holder lets it go", full: true, reused: 3,
			change: func(t *testing.T, dir string, tree *fakeproc.Tree) {
				dropFD(t, dir, tree, 102, 32)
			}},
		{name: "a process closes a UDP socket and opens a connection a rewalk finds", reused: 2,
			// 102 is walked again only for the new row; the walk forgets
			// socket 32, which stays in the UDP table, held by nobody.
			change: func(t *testing.T, dir string, tree *fakeproc.Tree) {
				dropFD(t, dir, tree, 102, 32)
				addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(61, "10.0.0.1:41003", "10.0.0.7:5432", fakeproc.TCPEstablished), 102)
			}},
		{name: "nothing changed, a full Collect", full: true, reused: 0, // the whole last report stands
			change: func(*testing.T, string, *fakeproc.Tree) {}},
	}
	owners := []int{100, 101, 102, 200}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := host()
			dir := writeTree(t, tree)
			c := newCollector(t, dir, 0)
			now := time.Now()
			first, err := c.Collect(t.Context(), now, ownersOf(t, tree, owners...), false)
			if err != nil {
				t.Fatal(err)
			}
			firstSeen := map[uint64]time.Time{}
			for _, s := range first {
				firstSeen[s.Inode] = s.FirstSeen
			}
			tt.change(t, dir, tree)
			now = now.Add(time.Second)
			before := c.partsReused.Load()
			got, err := c.Collect(t.Context(), now, ownersOf(t, tree, owners...), tt.full)
			if err != nil {
				t.Fatal(err)
			}
			if n := c.partsReused.Load() - before; n != tt.reused {
				t.Errorf("%d parts copied from the last report, want %d", n, tt.reused)
			}
			fresh, err := newCollector(t, dir, 0).Collect(t.Context(), now, ownersOf(t, tree, owners...), false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(lines(got), lines(fresh)) {
				t.Errorf("second Collect:\n%s\na new Collector's:\n%s", strings.Join(lines(got), "\n"), strings.Join(lines(fresh), "\n"))
			}
			for _, s := range got {
				if was, ok := firstSeen[s.Inode]; ok && !s.FirstSeen.Equal(was) {
					t.Errorf("socket %d first seen %v, was %v", s.Inode, s.FirstSeen, was)
				}
			}
		})
	}
}

// replaceSocket replaces the row of inode in ns's TCP table by e, held by
// the same process through the same fd.
func replaceSocket(t *testing.T, dir string, tree *fakeproc.Tree, ns, inode uint64, e fakeproc.SockEntry) {
	t.Helper()
	rows := tree.NetNS[ns].TCP
	i := slices.IndexFunc(rows, func(r fakeproc.SockEntry) bool { return r.Inode == inode })
	rows[i] = e
	for pi := range tree.Procs {
		p := &tree.Procs[pi]
		for fi := range p.FDs {
			if p.FDs[fi].Target == socketLink(inode) {
				p.FDs[fi].Target = socketLink(e.Inode)
				if err := tree.Rewrite(dir, *p); err != nil {
					t.Fatal(err)
				}
				writeTable(t, dir, p.PID, fakeproc.TCP, rows)
			}
		}
	}
}

// addFD gives process pid an fd of socket inode.
func addFD(t *testing.T, dir string, tree *fakeproc.Tree, pid int, inode uint64) {
	t.Helper()
	p := &tree.Procs[slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == pid })]
	p.FDs = append(p.FDs, fakeproc.FD{Num: 90, Target: socketLink(inode)})
	if err := tree.Rewrite(dir, *p); err != nil {
		t.Fatal(err)
	}
}

// dropFD closes process pid's fds of socket inode.
func dropFD(t *testing.T, dir string, tree *fakeproc.Tree, pid int, inode uint64) {
	t.Helper()
	p := &tree.Procs[slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == pid })]
	p.FDs = slices.DeleteFunc(p.FDs, func(fd fakeproc.FD) bool { return fd.Target == socketLink(inode) })
	if err := tree.Rewrite(dir, *p); err != nil {
		t.Fatal(err)
	}
}

// socketLink is the target of an fd link to socket inode.
func socketLink(inode uint64) string { return "socket:[" + strconv.FormatUint(inode, 10) + "]" }

// TestClaim checks that a part copied from the last report claims all its
// sockets for this Collect, or, when another part claimed one of them
// already, none: it leaves them as they were, for pick.
func TestClaim(t *testing.T) {
	const last, now = 6, 7
	tests := []struct {
		name  string
		gens  []uint32 // the socks' generations before the claim
		ok    bool
		after []uint32
	}{
		{name: "all reported last time", gens: []uint32{last, last, last}, ok: true, after: []uint32{now, now, now}},
		{name: "one claimed already", gens: []uint32{last, now, last}, after: []uint32{last, now, last}},
		{name: "the last one claimed already", gens: []uint32{last, last, now}, after: []uint32{last, last, now}},
		{name: "none", gens: nil, ok: true, after: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Collector{gen: now, reported: last}
			socks := make([]sock, len(tt.gens))
			for i, g := range tt.gens {
				socks[i].gen.Store(g)
				c.rows = append(c.rows, row{sock: &socks[i]})
			}
			p := &part{joined: len(c.rows)}
			if ok := c.claim(p); ok != tt.ok {
				t.Errorf("claim = %v, want %v", ok, tt.ok)
			}
			for i := range socks {
				if g := socks[i].gen.Load(); g != tt.after[i] {
					t.Errorf("sock %d: gen %d, want %d", i, g, tt.after[i])
				}
			}
		})
	}
}
