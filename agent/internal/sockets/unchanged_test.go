package sockets

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestCollectUnchanged checks when a Collect hands back the last Collect's
// Sockets: only when nothing that the report depends on changed, and that
// every change is reported as a Collect without the shortcut would.
func TestCollectUnchanged(t *testing.T) {
	allOwners := []int{100, 101, 102, 200}
	tests := []struct {
		name        string
		minLifetime time.Duration
		// change alters the host between the second and third Collect;
		// it may change the owners passed, the time and whether the
		// Collect is full.
		change func(t *testing.T, dir string, tree *fakeproc.Tree, owners *[]int, now *time.Time, full *bool)
		reused bool
		// want checks the third Collect's sockets.
		want func(t *testing.T, got []Socket)
	}{
		{name: "nothing changed", reused: true,
			change: func(*testing.T, string, *fakeproc.Tree, *[]int, *time.Time, *bool) {}},
		{name: "a full Collect that finds nothing new", reused: true,
			change: func(_ *testing.T, _ string, _ *fakeproc.Tree, _ *[]int, _ *time.Time, full *bool) { *full = true }},
		{name: "a full Collect finds a socket passed to a known owner",
			// Listener 17 is in the table, held by no owner, since before
			// the first Collect: only walking 101 again can find it.
			change: func(t *testing.T, dir string, tree *fakeproc.Tree, _ *[]int, _ *time.Time, full *bool) {
				*full = true
				i := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == 101 })
				tree.Procs[i].FDs = append(tree.Procs[i].FDs, fakeproc.FD{Num: 99, Target: "socket:[17]"})
				if err := tree.Rewrite(dir, tree.Procs[i]); err != nil {
					t.Fatal(err)
				}
			},
			want: func(t *testing.T, got []Socket) {
				if !slices.Contains(lines(got), "4026531840 tcp 127.0.0.1:9001 0.0.0.0:0 LISTEN server 17 [101]") {
					t.Errorf("listener 17, now held by 101, not reported:\n%s", strings.Join(lines(got), "\n"))
				}
			}},
		{name: "the clock went back",
			change: func(_ *testing.T, _ string, _ *fakeproc.Tree, _ *[]int, now *time.Time, _ *bool) {
				*now = now.Add(-time.Hour)
			}},
		{name: "a row changed state",
			change: func(t *testing.T, dir string, tree *fakeproc.Tree, _ *[]int, _ *time.Time, _ *bool) {
				rows := tree.NetNS[nsA].TCP
				i := slices.IndexFunc(rows, func(e fakeproc.SockEntry) bool { return e.Inode == 12 })
				rows[i].State = fakeproc.TCPCloseWait
				writeTable(t, dir, 100, fakeproc.TCP, rows)
			},
			want: func(t *testing.T, got []Socket) {
				if slices.ContainsFunc(got, func(s Socket) bool { return s.Inode == 12 }) {
					t.Errorf("socket 12 is CLOSE_WAIT now, still reported:\n%s", strings.Join(lines(got), "\n"))
				}
			}},
		{name: "a known owner opened a socket",
			change: func(t *testing.T, dir string, tree *fakeproc.Tree, _ *[]int, _ *time.Time, _ *bool) {
				addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(60, "10.0.0.1:80", "10.0.0.5:41000", fakeproc.TCPEstablished), 101)
			},
			want: func(t *testing.T, got []Socket) {
				if !slices.Contains(lines(got), "4026531840 tcp 10.0.0.1:80 10.0.0.5:41000 ESTABLISHED server 60 [101]") {
					t.Errorf("new socket 60 of 101 not reported:\n%s", strings.Join(lines(got), "\n"))
				}
			}},
		{name: "an owner is no longer passed",
			change: func(_ *testing.T, _ string, _ *fakeproc.Tree, owners *[]int, _ *time.Time, _ *bool) {
				*owners = []int{100, 101, 200}
			},
			want: func(t *testing.T, got []Socket) {
				if slices.ContainsFunc(got, func(s Socket) bool { return slices.Contains(s.PIDs, 102) }) {
					t.Errorf("sockets of 102, no longer an owner, still reported:\n%s", strings.Join(lines(got), "\n"))
				}
			}},
		{name: "a new owner holds a socket nobody reported held",
			change: func(_ *testing.T, _ string, _ *fakeproc.Tree, owners *[]int, _ *time.Time, _ *bool) {
				*owners = append(*owners, 300)
			},
			want: func(t *testing.T, got []Socket) {
				if !slices.Contains(lines(got), "4026531840 tcp 127.0.0.1:9000 0.0.0.0:0 LISTEN server 16 [300]") {
					t.Errorf("listener 16 of the new owner 300 not reported:\n%s", strings.Join(lines(got), "\n"))
				}
			}},
		{name: "a socket held back by min-lifetime comes of age", minLifetime: 5 * time.Second,
			// Socket 70 is added before the second Collect (below), which
			// holds it back; nothing changes after that.
			change: func(*testing.T, string, *fakeproc.Tree, *[]int, *time.Time, *bool) {},
			want: func(t *testing.T, got []Socket) {
				if !slices.ContainsFunc(got, func(s Socket) bool { return s.Inode == 70 }) {
					t.Errorf("socket 70, now older than min-lifetime, not reported:\n%s", strings.Join(lines(got), "\n"))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := host()
			dir := writeTree(t, tree)
			c := newCollector(t, dir, tt.minLifetime)
			owners, now, full := allOwners, time.Now(), false
			collect := func() []Socket {
				t.Helper()
				got, err := c.Collect(t.Context(), now, ownersOf(t, tree, owners...), full)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			collect()
			now = now.Add(10 * time.Second)
			if tt.minLifetime > 0 {
				addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(70, "10.0.0.1:80", "10.0.0.6:41000", fakeproc.TCPEstablished), 101)
			}
			second := collect()
			now = now.Add(10 * time.Second)
			tt.change(t, dir, tree, &owners, &now, &full)
			reusedBefore := c.Reused()
			third := collect()
			reused := c.Reused() > reusedBefore
			if reused != tt.reused {
				t.Errorf("reused the last Sockets: %v, want %v", reused, tt.reused)
			}
			if reused != sameSlice(second, third) {
				t.Errorf("Reused says %v, the slices are the same: %v", reused, sameSlice(second, third))
			}
			// What a Collector without a past reports of the same host.
			fresh := newCollector(t, dir, tt.minLifetime)
			freshGot, err := fresh.Collect(t.Context(), now, ownersOf(t, tree, owners...), false)
			if err != nil {
				t.Fatal(err)
			}
			if tt.minLifetime == 0 && !slices.Equal(lines(third), lines(freshGot)) {
				t.Errorf("third Collect:\n%s\na new Collector's:\n%s", strings.Join(lines(third), "\n"), strings.Join(lines(freshGot), "\n"))
			}
			if tt.want != nil {
				tt.want(t, third)
			}
			// Nothing changes after: the next Collect reuses this one.
			now, full = now.Add(10*time.Second), false
			reusedBefore = c.Reused()
			fourth := collect()
			if c.Reused() == reusedBefore || !sameSlice(third, fourth) {
				t.Errorf("the Collect after the change did not reuse it")
			}
		})
	}
}

// sameSlice reports whether a and b are one slice.
func sameSlice(a, b []Socket) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// writeTable rewrites table proto of the process pid (the namespace's
// first owner, through which the Collector reads it) with rows.
func writeTable(t *testing.T, dir string, pid int, proto fakeproc.Proto, rows []fakeproc.SockEntry) {
	t.Helper()
	file := filepath.Join(dir, strconv.Itoa(pid), "net", proto.String())
	if err := os.WriteFile(file, fakeproc.NetTable(proto, rows), 0o444); err != nil {
		t.Fatal(err)
	}
}

// TestSumRows checks that a change to any field the report reads, or to
// the order or number of rows, changes a table's sum.
func TestSumRows(t *testing.T) {
	base := []parsedRow{
		rowOf("10.0.0.1:80", "10.0.0.9:50000", 1, 1000, 11),
		rowOf("[2001:db8::1]:443", "[2001:db8::9]:50003", 1, 0, 22),
		rowOf("0.0.0.0:53", "0.0.0.0:0", 7, 0, 30),
	}
	sum := func(key uint64, rs []parsedRow) uint64 {
		var b rowBuf
		for i := range rs {
			b.add(&rs[i], true, 0)
		}
		return sumRows(key, &b)
	}
	const key = 0x9e3779b97f4a7c15
	want := sum(key, base)
	if got := sum(key, slices.Clone(base)); got != want {
		t.Fatalf("same rows, sums %x and %x", got, want)
	}
	set := func(r *parsedRow, local, remote string) {
		if local != "" {
			r.set(false, ep(local))
		}
		if remote != "" {
			r.set(true, ep(remote))
		}
	}
	changes := map[string]func(rs []parsedRow) []parsedRow{
		"local address":       func(rs []parsedRow) []parsedRow { set(&rs[0], "10.0.0.2:80", ""); return rs },
		"local port":          func(rs []parsedRow) []parsedRow { set(&rs[0], "10.0.0.1:81", ""); return rs },
		"local IPv6 address":  func(rs []parsedRow) []parsedRow { set(&rs[1], "[2001:db8::2]:443", ""); return rs },
		"remote address":      func(rs []parsedRow) []parsedRow { set(&rs[1], "", "[2001:db8::8]:50003"); return rs },
		"remote port":         func(rs []parsedRow) []parsedRow { set(&rs[1], "", "[2001:db8::9]:50004"); return rs },
		"IPv4 as IPv4-mapped": func(rs []parsedRow) []parsedRow { set(&rs[2], "[::ffff:0.0.0.0]:53", ""); return rs },
		"state":               func(rs []parsedRow) []parsedRow { rs[2].e.state = 1; return rs },
		"uid":                 func(rs []parsedRow) []parsedRow { rs[0].e.uid = 1001; return rs },
		"inode":               func(rs []parsedRow) []parsedRow { rs[1].e.inode = 23; return rs },
		"order":               func(rs []parsedRow) []parsedRow { rs[0], rs[1] = rs[1], rs[0]; return rs },
		"a row less":          func(rs []parsedRow) []parsedRow { return rs[:2] },
		"a row more":          func(rs []parsedRow) []parsedRow { return append(rs, rs[0]) },
		"ports swapped":       func(rs []parsedRow) []parsedRow { set(&rs[0], "10.0.0.1:50000", "10.0.0.9:80"); return rs },
		"inode and uid swapped": func(rs []parsedRow) []parsedRow {
			rs[0].e.uid, rs[0].e.inode = 11, 1000
			return rs
		},
	}
	for name, change := range changes {
		if got := sum(key, change(slices.Clone(base))); got == want {
			t.Errorf("%s: sum unchanged (%x)", name, got)
		}
	}
	if sum(key+2, base) == want {
		t.Errorf("another key gives the same sum")
	}
}

// TestCollectChanges checks that CollectChanges says when the Sockets are
// the last call's, returns none then, and keeps no copy of them.
func TestCollectChanges(t *testing.T) {
	tree := host()
	dir := writeTree(t, tree)
	c := newCollector(t, dir, 0)
	owners := ownersOf(t, tree, 100, 101, 102, 200)
	now := time.Now()
	steps := []struct {
		change      func()
		wantChanged bool
	}{
		{change: func() {}, wantChanged: true}, // the first
		{change: func() {}, wantChanged: false},
		{change: func() {
			addSocket(t, dir, tree, nsB, fakeproc.TCP, tableRow(80, "10.1.0.2:40002", "10.0.0.1:80", fakeproc.TCPEstablished), 200)
		}, wantChanged: true},
		{change: func() {}, wantChanged: false},
	}
	for i, st := range steps {
		st.change()
		now = now.Add(10 * time.Second)
		socks, changed, err := c.CollectChanges(t.Context(), now, owners, false)
		if err != nil {
			t.Fatal(err)
		}
		if changed != st.wantChanged || (changed != (len(socks) > 0)) {
			t.Errorf("call %d: changed %v with %d sockets, want changed %v", i, changed, len(socks), st.wantChanged)
		}
		if c.kept.ok || c.kept.socks != nil {
			t.Errorf("call %d: the Collector kept the sockets", i)
		}
	}
}

// TestJoinScratchReleased checks that the first Collect and one that
// finds nothing changed let go of the join's rows, and that a
// later one that joins keeps them for the next.
func TestJoinScratchReleased(t *testing.T) {
	tree := host()
	dir := writeTree(t, tree)
	c := newCollector(t, dir, 0)
	owners, now := ownersOf(t, tree, 100, 101, 102, 200), time.Now()
	collect := func() {
		t.Helper()
		now = now.Add(10 * time.Second)
		if _, err := c.Collect(t.Context(), now, owners, false); err != nil {
			t.Fatal(err)
		}
	}
	collect()
	if c.rows != nil {
		t.Errorf("after the first Collect: rows cap %d, want none", cap(c.rows))
	}
	addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(90, "10.0.0.1:41000", "10.0.0.9:443", fakeproc.TCPEstablished), 102)
	collect()
	if cap(c.rows) == 0 {
		t.Fatalf("after a joining Collect: rows cap %d, want them kept", cap(c.rows))
	}
	collect()
	if c.rows != nil {
		t.Errorf("after a Collect that found nothing changed: rows cap %d, want none", cap(c.rows))
	}
	for _, g := range c.groups[:cap(c.groups)] {
		for _, p := range g.parts {
			if p.rows != nil {
				t.Errorf("group %d keeps %d rows", g.ns, len(p.rows))
			}
		}
	}
}
