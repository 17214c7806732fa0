package sockets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/procid"
)

const (
	nsA      uint64 = 4026531840
	nsB      uint64 = 4026532100
	bootTime int64  = 1795645876
)

// proc returns a user process of the fake tree started ticks after boot.
func proc(pid, ppid int, ticks uint64, ns uint64) fakeproc.Proc {
	return fakeproc.Proc{PID: pid, PPID: ppid, Comm: "srv", StartTicks: ticks,
		Argv: []string{"/usr/bin/srv"}, Exe: "/usr/bin/srv", NetNS: ns}
}

// tableRow is a socket table row.
func tableRow(inode uint64, local, remote string, state uint8) fakeproc.SockEntry {
	return fakeproc.SockEntry{Inode: inode, Local: ap(local), Remote: ap(remote), State: state}
}

// writeTree writes tree to a new temporary directory.
func writeTree(t *testing.T, tree *fakeproc.Tree) string {
	t.Helper()
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ownersOf returns an Owner for each pid of the tree, in the given order.
func ownersOf(t *testing.T, tree *fakeproc.Tree, pids ...int) []Owner {
	t.Helper()
	var out []Owner
	for _, pid := range pids {
		i := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == pid })
		if i < 0 {
			t.Fatalf("pid %d not in the tree", pid)
		}
		p := tree.Procs[i]
		out = append(out, Owner{Key: procid.Key{PID: p.PID, StartTicks: p.StartTicks}, NetNS: p.NetNS, UID: p.UID,
			StartTime: time.Unix(bootTime, 0).Add(time.Duration(p.StartTicks) * 10 * time.Millisecond)})
	}
	return out
}

// addSocket adds a socket to a tree already written under dir: the table
// row and an fd link in each owner.
func addSocket(t *testing.T, dir string, tree *fakeproc.Tree, ns uint64, proto fakeproc.Proto, e fakeproc.SockEntry, pids ...int) {
	t.Helper()
	if !tree.AddSocket(ns, proto, e, pids...) {
		t.Fatalf("add socket %d: an owner is not in the tree", e.Inode)
	}
	for _, pid := range pids {
		i := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == pid })
		if err := tree.Rewrite(dir, tree.Procs[i]); err != nil {
			t.Fatal(err)
		}
	}
	tabs := tree.NetNS[ns]
	rows := map[fakeproc.Proto][]fakeproc.SockEntry{fakeproc.TCP: tabs.TCP, fakeproc.TCP6: tabs.TCP6, fakeproc.UDP: tabs.UDP, fakeproc.UDP6: tabs.UDP6}[proto]
	file := filepath.Join(dir, fmt.Sprint(pids[0]), "net", proto.String())
	if err := os.WriteFile(file, fakeproc.NetTable(proto, rows), 0o444); err != nil {
		t.Fatal(err)
	}
}

// lines prints sockets one per line, for comparisons that read well.
func lines(socks []Socket) []string {
	var out []string
	for _, s := range socks {
		out = append(out, fmt.Sprintf("%d %s %s %s %s %s %d %v", s.NetNS, s.Proto, s.Local, s.Remote, s.State, s.Role, s.Inode, s.PIDs))
	}
	return out
}

func assertLines(t *testing.T, got []Socket, want ...string) {
	t.Helper()
	if g := lines(got); !slices.Equal(g, want) {
		t.Errorf("sockets:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

func newCollector(t *testing.T, dir string, minLifetime time.Duration) *Collector {
	t.Helper()
	c, err := New(Config{Root: dir, MinLifetime: minLifetime}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// host is two namespaces: in A a forked server (100 and its child 101 hold
// the listeners), a separate process 102, and 300 which is not reported;
// in B a client 200.
func host() *fakeproc.Tree {
	tree := &fakeproc.Tree{BootTime: bootTime, Procs: []fakeproc.Proc{
		proc(100, 1, 1000, nsA), proc(101, 100, 1100, nsA), proc(102, 1, 1200, nsA),
		proc(200, 1, 2000, nsB), proc(300, 1, 3000, nsA),
	}}
	add := func(ns uint64, p fakeproc.Proto, e fakeproc.SockEntry, pids ...int) {
		tree.AddSocket(ns, p, e, pids...)
	}
	add(nsA, fakeproc.TCP, tableRow(10, "0.0.0.0:80", "0.0.0.0:0", fakeproc.TCPListen), 100, 101)
	add(nsA, fakeproc.TCP, tableRow(11, "10.0.0.1:80", "10.0.0.9:50000", fakeproc.TCPEstablished), 101)
	add(nsA, fakeproc.TCP, tableRow(12, "10.0.0.1:80", "10.0.0.8:50001", fakeproc.TCPEstablished), 102)
	add(nsA, fakeproc.TCP, tableRow(13, "10.0.0.1:41000", "10.0.0.7:5432", fakeproc.TCPEstablished), 100)
	add(nsA, fakeproc.TCP, tableRow(14, "10.0.0.1:41001", "10.0.0.7:5432", fakeproc.TCPTimeWait))
	add(nsA, fakeproc.TCP, tableRow(15, "10.0.0.1:41002", "10.0.0.7:5432", fakeproc.TCPSynSent), 100)
	add(nsA, fakeproc.TCP, tableRow(16, "127.0.0.1:9000", "0.0.0.0:0", fakeproc.TCPListen), 300)
	add(nsA, fakeproc.TCP, tableRow(17, "127.0.0.1:9001", "0.0.0.0:0", fakeproc.TCPListen))
	add(nsA, fakeproc.TCP6, tableRow(20, "[::]:443", "[::]:0", fakeproc.TCPListen), 100)
	add(nsA, fakeproc.TCP6, tableRow(21, "[::ffff:10.0.0.1]:443", "[::ffff:10.0.0.9]:50002", fakeproc.TCPEstablished), 100)
	add(nsA, fakeproc.TCP6, tableRow(22, "[2001:db8::1]:443", "[2001:db8::9]:50003", fakeproc.TCPEstablished), 100)
	add(nsA, fakeproc.UDP, tableRow(30, "0.0.0.0:53", "0.0.0.0:0", fakeproc.TCPClose), 100)
	add(nsA, fakeproc.UDP, tableRow(31, "10.0.0.1:53", "10.0.0.9:6000", fakeproc.TCPEstablished), 100)
	add(nsA, fakeproc.UDP, tableRow(32, "10.0.0.1:45000", "10.0.0.2:53", fakeproc.TCPEstablished), 102)
	add(nsA, fakeproc.UDP, tableRow(33, "0.0.0.0:0", "0.0.0.0:0", fakeproc.TCPClose), 102)
	add(nsA, fakeproc.UDP6, tableRow(34, "[::1]:5353", "[::]:0", fakeproc.TCPClose), 102)
	add(nsB, fakeproc.TCP, tableRow(40, "10.1.0.2:40000", "10.0.0.1:80", fakeproc.TCPEstablished), 200)
	add(nsB, fakeproc.TCP, tableRow(41, "127.0.0.1:8080", "0.0.0.0:0", fakeproc.TCPListen), 200)
	add(nsB, fakeproc.TCP, tableRow(42, "10.1.0.2:8080", "10.1.0.3:40001", fakeproc.TCPEstablished), 200)
	return tree
}

// hostWant is what Collect reports for host() with owners 100-200.
var hostWant = []string{
	"4026531840 tcp 0.0.0.0:80 0.0.0.0:0 LISTEN server 10 [100 101]",
	"4026531840 tcp 10.0.0.1:80 10.0.0.8:50001 ESTABLISHED client 12 [102]",
	"4026531840 tcp 10.0.0.1:80 10.0.0.9:50000 ESTABLISHED server 11 [101]",
	"4026531840 tcp 10.0.0.1:41000 10.0.0.7:5432 ESTABLISHED client 13 [100]",
	"4026531840 tcp6 10.0.0.1:443 10.0.0.9:50002 ESTABLISHED server 21 [100]",
	"4026531840 tcp6 [::]:443 [::]:0 LISTEN server 20 [100]",
	"4026531840 tcp6 [2001:db8::1]:443 [2001:db8::9]:50003 ESTABLISHED server 22 [100]",
	"4026531840 udp 0.0.0.0:53 0.0.0.0:0 CLOSE server 30 [100]",
	"4026531840 udp 10.0.0.1:53 10.0.0.9:6000 ESTABLISHED server 31 [100]",
	"4026531840 udp 10.0.0.1:45000 10.0.0.2:53 ESTABLISHED client 32 [102]",
	"4026531840 udp6 [::1]:5353 [::]:0 CLOSE server 34 [102]",
	"4026532100 tcp 10.1.0.2:8080 10.1.0.3:40001 ESTABLISHED client 42 [200]",
	"4026532100 tcp 10.1.0.2:40000 10.0.0.1:80 ESTABLISHED client 40 [200]",
	"4026532100 tcp 127.0.0.1:8080 0.0.0.0:0 LISTEN server 41 [200]",
}

func TestCollectHost(t *testing.T) {
	tree := host()
	dir := writeTree(t, tree)
	tests := []struct {
		name   string
		owners []int
		want   []string
	}{
		{name: "all reported owners, several namespaces", owners: []int{100, 101, 102, 200}, want: hostWant},
		{name: "owner order does not matter", owners: []int{200, 102, 101, 100}, want: hostWant},
		{name: "only the child of the fork", owners: []int{101}, want: []string{
			"4026531840 tcp 0.0.0.0:80 0.0.0.0:0 LISTEN server 10 [101]",
			"4026531840 tcp 10.0.0.1:80 10.0.0.9:50000 ESTABLISHED server 11 [101]",
		}},
		{name: "no owners", owners: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector(t, dir, 0)
			got, err := c.Collect(t.Context(), time.Now(), ownersOf(t, tree, tt.owners...), false)
			if err != nil {
				t.Fatal(err)
			}
			assertLines(t, got, tt.want...)
		})
	}
}

func TestCollectVanishedOwner(t *testing.T) {
	tree := host()
	dir := writeTree(t, tree)
	owners := ownersOf(t, tree, 102, 100, 101, 200)
	if err := tree.Remove(dir, 102); err != nil {
		t.Fatal(err)
	}
	c := newCollector(t, dir, 0)
	got, err := c.Collect(t.Context(), time.Now(), owners, false)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range hostWant {
		if !strings.HasSuffix(l, "[102]") {
			want = append(want, l)
		}
	}
	assertLines(t, got, want...)
	if len(c.owners) != 3 {
		t.Errorf("owner cache has %d entries, want the 3 live owners", len(c.owners))
	}
}

func TestCollectIncremental(t *testing.T) {
	tree := host()
	dir := writeTree(t, tree)
	c := newCollector(t, dir, 0)
	now := time.Now()
	collect := func(full bool, pids ...int) []Socket {
		t.Helper()
		now = now.Add(10 * time.Second)
		got, err := c.Collect(t.Context(), now, ownersOf(t, tree, pids...), full)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	collect(false, 100, 200)

	// A new process: walked on the next tick even when not full.
	if err := tree.Rewrite(dir, proc(400, 1, 5000, nsB)); err != nil {
		t.Fatal(err)
	}
	addSocket(t, dir, tree, nsB, fakeproc.TCP, tableRow(50, "10.1.0.4:7000", "0.0.0.0:0", fakeproc.TCPListen), 400)
	got := collect(false, 100, 200, 400)
	if !slices.ContainsFunc(got, func(s Socket) bool { return s.Inode == 50 && slices.Equal(s.PIDs, []int{400}) }) {
		t.Errorf("new process's listener not found:\n%s", strings.Join(lines(got), "\n"))
	}

	// Old processes open or accept sockets: the next tick walks the
	// holders of the listener on the new socket's port (101 and 100 hold
	// port 80), or the owners of the socket's uid in its namespace.
	addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(51, "10.0.0.1:80", "10.0.0.5:41000", fakeproc.TCPEstablished), 101)
	client := tableRow(52, "10.0.0.1:42000", "10.0.0.7:5432", fakeproc.TCPEstablished)
	client.UID = 0
	addSocket(t, dir, tree, nsA, fakeproc.TCP, client, 100)
	walks := c.walks.Load()
	got = collect(false, 100, 101, 200, 400)
	for _, want := range []string{
		"4026531840 tcp 10.0.0.1:80 10.0.0.5:41000 ESTABLISHED server 51 [101]",
		"4026531840 tcp 10.0.0.1:42000 10.0.0.7:5432 ESTABLISHED client 52 [100]",
	} {
		if !slices.Contains(lines(got), want) {
			t.Errorf("tick after the sockets appeared lacks %q:\n%s", want, strings.Join(lines(got), "\n"))
		}
	}
	// 101 is new (walked anyway); 100 is walked again, once.
	if n := c.walks.Load() - walks; n != 2 {
		t.Errorf("%d fd/ walks, want 2 (new 101, 100 again)", n)
	}

	// A socket of a process that is not reported (300), of a uid no owner
	// has: nobody is walked for it, now or later.
	stray := tableRow(53, "10.0.0.1:43000", "10.0.0.7:5432", fakeproc.TCPEstablished)
	stray.UID = 4242
	addSocket(t, dir, tree, nsA, fakeproc.TCP, stray, 300)
	walks = c.walks.Load()
	for range 2 {
		if got := collect(false, 100, 101, 200, 400); slices.ContainsFunc(got, func(s Socket) bool { return s.Inode == 53 }) {
			t.Errorf("socket of an unreported process reported: %v", lines(got))
		}
	}
	if n := c.walks.Load() - walks; n != 0 {
		t.Errorf("%d fd/ walks for a socket no owner holds, want 0", n)
	}

	// A socket of the uid of owners 100 and 101 (0) that neither holds:
	// they are walked once for it, not on every tick.
	held := tableRow(54, "10.0.0.1:44000", "10.0.0.7:5432", fakeproc.TCPEstablished)
	addSocket(t, dir, tree, nsA, fakeproc.TCP, held, 300)
	for tick, want := range []uint64{2, 0} {
		walks = c.walks.Load()
		collect(false, 100, 101, 200, 400)
		if n := c.walks.Load() - walks; n != want {
			t.Errorf("tick %d: %d fd/ walks for an unowned socket of uid 0, want %d", tick, n, want)
		}
	}
	if got := collect(true, 100, 200, 400); !slices.ContainsFunc(got, func(s Socket) bool { return s.Inode == 52 }) {
		t.Errorf("full tick lost the old process's new socket:\n%s", strings.Join(lines(got), "\n"))
	}

	// A process closes a socket: a full walk drops it.
	i := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == 100 })
	p := tree.Procs[i]
	p.FDs = slices.DeleteFunc(slices.Clone(p.FDs), func(fd fakeproc.FD) bool { return fd.Target == "socket:[13]" })
	if err := tree.Rewrite(dir, p); err != nil {
		t.Fatal(err)
	}
	if got := collect(true, 100, 200, 400); slices.ContainsFunc(got, func(s Socket) bool { return s.Inode == 13 }) {
		t.Errorf("closed socket still reported: %v", lines(got))
	}

	// Owners not passed any more are forgotten with their sockets.
	got = collect(false, 400)
	assertLines(t, got, "4026532100 tcp 10.1.0.4:7000 0.0.0.0:0 LISTEN server 50 [400]")
	if len(c.owners) != 1 || len(c.socks) != 1 {
		t.Errorf("caches not pruned: %d owners, %d sockets", len(c.owners), len(c.socks))
	}
}

func TestCollectPIDReuse(t *testing.T) {
	tree := host()
	dir := writeTree(t, tree)
	c := newCollector(t, dir, 0)
	if _, err := c.Collect(t.Context(), time.Now(), ownersOf(t, tree, 200), false); err != nil {
		t.Fatal(err)
	}
	// pid 200 exits and a new process takes the pid, with other sockets.
	reborn := proc(200, 1, 9000, nsB)
	if err := tree.Rewrite(dir, reborn); err != nil {
		t.Fatal(err)
	}
	addSocket(t, dir, tree, nsB, fakeproc.UDP, tableRow(60, "10.1.0.2:6000", "0.0.0.0:0", fakeproc.TCPClose), 200)
	got, err := c.Collect(t.Context(), time.Now(), ownersOf(t, tree, 200), false)
	if err != nil {
		t.Fatal(err)
	}
	assertLines(t, got, "4026532100 udp 10.1.0.2:6000 0.0.0.0:0 CLOSE server 60 [200]")
}

// compare orders Sockets as snapshot.Snapshot documents: NetNS, Proto,
// local address, remote address, Inode.
func compare(a, b Socket) int {
	return cmp.Or(
		cmp.Compare(a.NetNS, b.NetNS),
		cmp.Compare(a.Proto, b.Proto),
		a.Local.Compare(b.Local),
		a.Remote.Compare(b.Remote),
		cmp.Compare(a.Inode, b.Inode),
	)
}

func TestCollectCancelled(t *testing.T) {
	tree := host()
	dir := writeTree(t, tree)
	c := newCollector(t, dir, 0)
	owners := ownersOf(t, tree, 100, 101, 102, 200)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Collect(ctx, time.Now(), owners, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("Collect with a cancelled context: %v, want context.Canceled", err)
	}
	got, err := c.Collect(t.Context(), time.Now(), owners, false)
	if err != nil {
		t.Fatal(err)
	}
	assertLines(t, got, hostWant...)
}

// TestRewalkBound checks that one Collect walks at most maxRewalk known
// owners again, however many share the uid of an unowned new socket.
func TestRewalkBound(t *testing.T) {
	tree := &fakeproc.Tree{BootTime: bootTime}
	var pids []int
	for pid := 1000; pid < 1000+maxRewalk+50; pid++ {
		tree.Procs = append(tree.Procs, proc(pid, 1, uint64(pid), nsA))
		pids = append(pids, pid)
	}
	tree.Procs = append(tree.Procs, proc(9000, 1, 9000, nsA)) // not reported
	tree.AddSocket(nsA, fakeproc.TCP, tableRow(69, "10.0.0.1:80", "0.0.0.0:0", fakeproc.TCPListen), 1000)
	dir := writeTree(t, tree)
	c := newCollector(t, dir, 0)
	owners := ownersOf(t, tree, pids...)
	if _, err := c.Collect(t.Context(), time.Now(), owners, false); err != nil {
		t.Fatal(err)
	}
	addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(70, "10.0.0.1:45000", "10.0.0.7:5432", fakeproc.TCPEstablished), 9000)
	walks := c.walks.Load()
	if _, err := c.Collect(t.Context(), time.Now(), owners, false); err != nil {
		t.Fatal(err)
	}
	if n := c.walks.Load() - walks; n != maxRewalk {
		t.Errorf("%d owners walked again, want the bound %d", n, maxRewalk)
	}
}
