package sockets

import (
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
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
			if p.FDs[fi].Target == fakeproc.SocketTarget(inode) {
				p.FDs[fi].Target = fakeproc.SocketTarget(e.Inode)
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
	p.FDs = append(p.FDs, fakeproc.FD{Num: 90, Target: fakeproc.SocketTarget(inode)})
	if err := tree.Rewrite(dir, *p); err != nil {
		t.Fatal(err)
	}
}

// dropFD closes process pid's fds of socket inode.
func dropFD(t *testing.T, dir string, tree *fakeproc.Tree, pid int, inode uint64) {
	t.Helper()
	p := &tree.Procs[slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == pid })]
	p.FDs = slices.DeleteFunc(p.FDs, func(fd fakeproc.FD) bool { return fd.Target == fakeproc.SocketTarget(inode) })
	if err := tree.Rewrite(dir, *p); err != nil {
		t.Fatal(err)
	}
}

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

// TestCollectReuseAgreesWithFresh changes a generated host of several
// namespaces in random small steps (a connection replaced, a socket
// passed to another process or let go, a listener opened on a
// connection's port, a row's state changed) and checks after each that a
// Collector copying unchanged parts from its last report reports what a
// Collector without a past reports. Holders change only where owners are
// walked, so a step that moves an fd is followed by a full Collect; one
// whose new socket waits for its candidates (the rewalk's bound) is
// followed by Collects until none waits.
func TestCollectReuseAgreesWithFresh(t *testing.T) {
	for seed := range int64(1) {
		t.Run(strconv.FormatInt(seed, 10), func(t *testing.T) {
			tree := twoNamespaces(seed)
			dir := writeTree(t, tree)
			var pids []int
			for _, p := range tree.Procs {
				if p.Argv != nil {
					pids = append(pids, p.PID)
				}
			}
			r := rand.New(rand.NewPCG(uint64(seed), 1))
			nss := slices.Sorted(maps.Keys(tree.NetNS))
			c := newCollector(t, dir, 0)
			now := time.Now()
			collect := func(full bool) []Socket {
				t.Helper()
				now = now.Add(time.Second)
				got, err := c.Collect(t.Context(), now, ownersOf(t, tree, pids...), full)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			collect(false)
			next := uint64(50_000_000)
			reused := uint64(0)
			kinds := map[string]int{}
			for step := range 30 {
				ns := nss[r.IntN(len(nss))]
				full, what := false, ""
				switch r.IntN(5) {
				case 0:
					what = "replace a connection"
					if inode, ok := pickRow(tree, ns, r, fakeproc.TCPEstablished); ok {
						// A steady Collect finds one holder of a new socket (the
						// rewalk stops there), the others at the next full one.
						full = holders(tree, inode) > 1
						rows := tree.NetNS[ns].TCP
						e := rows[slices.IndexFunc(rows, func(e fakeproc.SockEntry) bool { return e.Inode == inode })]
						e.Inode, e.Remote = next, netip.AddrPortFrom(e.Remote.Addr(), e.Remote.Port()^1)
						next++
						replaceSocket(t, dir, tree, ns, inode, e)
					}
				case 1:
					what, full = "pass a socket to another process", true
					if inode, ok := pickRow(tree, ns, r, fakeproc.TCPEstablished); ok {
						addFD(t, dir, tree, pids[r.IntN(len(pids))], inode)
					}
				case 2:
					what, full = "let a socket go", true
					if inode, ok := pickRow(tree, ns, r, fakeproc.TCPEstablished); ok {
						for _, p := range tree.Procs {
							if slices.ContainsFunc(p.FDs, func(fd fakeproc.FD) bool { return fd.Target == fakeproc.SocketTarget(inode) }) {
								dropFD(t, dir, tree, p.PID, inode)
								break
							}
						}
					}
				case 3:
					what = "open a listener on a connection's port"
					if inode, ok := pickRow(tree, ns, r, fakeproc.TCPEstablished); ok {
						rows := tree.NetNS[ns].TCP
						e := rows[slices.IndexFunc(rows, func(e fakeproc.SockEntry) bool { return e.Inode == inode })]
						holder := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool {
							return slices.ContainsFunc(p.FDs, func(fd fakeproc.FD) bool { return fd.Target == fakeproc.SocketTarget(inode) })
						})
						if holder >= 0 {
							l := fakeproc.SockEntry{Inode: next, Local: netip.AddrPortFrom(netip.IPv4Unspecified(), e.Local.Port()),
								Remote: netip.AddrPortFrom(netip.IPv4Unspecified(), 0), State: fakeproc.TCPListen, UID: e.UID}
							next++
							addSocket(t, dir, tree, ns, fakeproc.TCP, l, tree.Procs[holder].PID)
						}
					}
				default:
					what = "a connection starts closing"
					if inode, ok := pickRow(tree, ns, r, fakeproc.TCPEstablished); ok {
						rows := tree.NetNS[ns].TCP
						rows[slices.IndexFunc(rows, func(e fakeproc.SockEntry) bool { return e.Inode == inode })].State = fakeproc.TCPCloseWait
						writeNetTable(t, dir, ns, rows)
					}
				}
				kinds[what]++
				before := c.partsReused.Load()
				got := collect(full)
				for i := 0; c.Pending() > 0; i++ {
					if i == 20 {
						t.Fatalf("step %d (%s): sockets still pending after 20 Collects", step, what)
					}
					got = collect(false)
				}
				reused += c.partsReused.Load() - before
				fresh, err := newCollector(t, dir, 0).Collect(t.Context(), now, ownersOf(t, tree, pids...), false)
				if err != nil {
					t.Fatal(err)
				}
				if g, w := lines(got), lines(fresh); !slices.Equal(g, w) {
					t.Fatalf("step %d (%s): %d sockets, a new Collector's %d; first difference:\n%s", step, what, len(g), len(w), firstDiff(g, w))
				}
			}
			if reused == 0 {
				t.Error("no part was copied from a last report: the test does not reach the reuse")
			}
			if len(kinds) != 5 {
				t.Errorf("the steps made only these changes: %v", kinds)
			}
		})
	}
}

// twoNamespaces is a generated host (one namespace) with a second
// namespace added: four processes holding 200 TCP sockets between them,
// listeners and connections, some to the listeners' ports. Generate makes
// several namespaces only for thousands of processes, which take long to
// write.
func twoNamespaces(seed int64) *fakeproc.Tree {
	tree := fakeproc.Generate(300, 800, 40+seed)
	r := rand.New(rand.NewPCG(uint64(seed), 2))
	pids := []int{90001, 90002, 90003, 90004}
	for i, pid := range pids {
		tree.Procs = append(tree.Procs, proc(pid, 1, uint64(5000+i), nsB))
	}
	ports := []uint16{80, 443, 8080}
	for i := range 200 {
		e := fakeproc.SockEntry{Inode: uint64(80_000_000 + i), State: fakeproc.TCPEstablished,
			Local:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(1 + r.IntN(3))}), uint16(30000+r.IntN(30000))),
			Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(r.IntN(256)), byte(r.IntN(256))}), uint16(1024+r.IntN(60000)))}
		owner := pids[r.IntN(len(pids))]
		switch {
		case i < len(ports):
			e.Local, e.Remote, e.State = netip.AddrPortFrom(netip.IPv4Unspecified(), ports[i]), netip.AddrPortFrom(netip.IPv4Unspecified(), 0), fakeproc.TCPListen
			owner = pids[i] // the listener on ports[i]
		case r.IntN(3) == 0:
			l := r.IntN(len(ports)) // accepted by the listener's holder
			e.Local, owner = netip.AddrPortFrom(e.Local.Addr(), ports[l]), pids[l]
		}
		tree.AddSocket(nsB, fakeproc.TCP, e, owner)
	}
	return tree
}

// holders counts the processes of tree holding socket inode.
func holders(tree *fakeproc.Tree, inode uint64) int {
	n := 0
	for _, p := range tree.Procs {
		if slices.ContainsFunc(p.FDs, func(fd fakeproc.FD) bool { return fd.Target == fakeproc.SocketTarget(inode) }) {
			n++
		}
	}
	return n
}

// pickRow returns the inode of a random TCP row of ns in state, if any.
func pickRow(tree *fakeproc.Tree, ns uint64, r *rand.Rand, state uint8) (uint64, bool) {
	var inodes []uint64
	for _, e := range tree.NetNS[ns].TCP {
		if e.State == state {
			inodes = append(inodes, e.Inode)
		}
	}
	if len(inodes) == 0 {
		return 0, false
	}
	return inodes[r.IntN(len(inodes))], true
}

// writeNetTable rewrites namespace ns's TCP table with rows.
func writeNetTable(t *testing.T, dir string, ns uint64, rows []fakeproc.SockEntry) {
	t.Helper()
	file := filepath.Join(dir, ".fakeproc", "net", strconv.FormatUint(ns, 10), "tcp")
	if err := os.WriteFile(file, fakeproc.NetTable(fakeproc.TCP, rows), 0o444); err != nil {
		t.Fatal(err)
	}
}
