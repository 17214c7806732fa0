package sockets

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestCollectTCPUnchanged checks what a Collect after TCPUnchanged reads:
// not the TCP tables it read last time, whose rows it keeps, but the UDP
// tables, the tables of a namespace it has not read yet, and the fd/ of
// new owners; a full Collect reads everything; and the next Collect reads
// the TCP tables again.
func TestCollectTCPUnchanged(t *testing.T) {
	const (
		newTCP = "4026531840 tcp 10.0.0.1:80 10.0.0.5:41000 ESTABLISHED server 60 [101]"
		newUDP = "4026531840 udp 10.0.0.1:47000 10.0.0.2:53 ESTABLISHED client 61 [102]"
	)
	tests := []struct {
		name string
		// change alters the host after the first Collect (which reads
		// everything, owners 100-200) and may change the owners passed
		// and whether the second Collect is full.
		change func(t *testing.T, dir string, tree *fakeproc.Tree, owners *[]int, full *bool)
		// kept is how many tables the second Collect keeps; want and
		// notWant are lines its sockets include and leave out.
		kept          uint64
		want, notWant []string
	}{
		{name: "a TCP and a UDP socket opened: the UDP one is found",
			change: func(t *testing.T, dir string, tree *fakeproc.Tree, _ *[]int, _ *bool) {
				addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(60, "10.0.0.1:80", "10.0.0.5:41000", fakeproc.TCPEstablished), 101)
				addSocket(t, dir, tree, nsA, fakeproc.UDP, tableRow(61, "10.0.0.1:47000", "10.0.0.2:53", fakeproc.TCPEstablished), 102)
			},
			kept: 4, want: []string{newUDP}, notWant: []string{newTCP}},
		{name: "a full Collect reads the TCP tables",
			change: func(t *testing.T, dir string, tree *fakeproc.Tree, _ *[]int, full *bool) {
				addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(60, "10.0.0.1:80", "10.0.0.5:41000", fakeproc.TCPEstablished), 101)
				*full = true
			},
			kept: 0, want: []string{newTCP}},
		{name: "a new owner holds a listener nobody reported held",
			change: func(_ *testing.T, _ string, _ *fakeproc.Tree, owners *[]int, _ *bool) {
				*owners = append(*owners, 300)
			},
			kept: 4, want: []string{"4026531840 tcp 127.0.0.1:9000 0.0.0.0:0 LISTEN server 16 [300]"}},
		{name: "a namespace not read before is read",
			change: func(_ *testing.T, _ string, _ *fakeproc.Tree, owners *[]int, _ *bool) {
				*owners = append(*owners, 700)
			},
			kept: 4, want: []string{"4026532300 tcp 10.2.0.2:7000 0.0.0.0:0 LISTEN server 70 [700]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := host()
			tree.Procs = append(tree.Procs, proc(700, 1, 7000, nsC))
			tree.AddSocket(nsC, fakeproc.TCP, tableRow(70, "10.2.0.2:7000", "0.0.0.0:0", fakeproc.TCPListen), 700)
			dir := writeTree(t, tree)
			c := newCollector(t, dir, 0)
			owners, now, full := []int{100, 101, 102, 200}, time.Now(), false
			collect := func() []string {
				t.Helper()
				now = now.Add(10 * time.Second)
				got, err := c.Collect(t.Context(), now, ownersOf(t, tree, owners...), full)
				if err != nil {
					t.Fatal(err)
				}
				return lines(got)
			}
			collect()
			tt.change(t, dir, tree, &owners, &full)
			kept0, read0 := c.TablesKept(), c.tableReads.Load()
			c.TCPUnchanged()
			second := collect()
			kept, read := c.TablesKept()-kept0, c.tableReads.Load()-read0
			if kept != tt.kept {
				t.Errorf("kept %d tables, want %d", kept, tt.kept)
			}
			groups := uint64(len(c.groups))
			if want := groups*uint64(len(tables)) - kept; read != want {
				t.Errorf("read %d tables of %d groups, want %d", read, groups, want)
			}
			for _, l := range tt.want {
				if !slices.Contains(second, l) {
					t.Errorf("missing %q:\n%s", l, strings.Join(second, "\n"))
				}
			}
			for _, l := range tt.notWant {
				if slices.Contains(second, l) {
					t.Errorf("reported %q from a table it was told had not changed:\n%s", l, strings.Join(second, "\n"))
				}
			}
			// TCPUnchanged was for one Collect: the next one reads it all
			// and reports what a new Collector does.
			full = false
			kept0 = c.TablesKept()
			third := collect()
			if c.TablesKept() != kept0 {
				t.Errorf("the Collect after kept %d tables", c.TablesKept()-kept0)
			}
			fresh := newCollector(t, dir, 0)
			freshGot, err := fresh.Collect(t.Context(), now, ownersOf(t, tree, owners...), false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(third, lines(freshGot)) {
				t.Errorf("the Collect after:\n%s\na new Collector's:\n%s", strings.Join(third, "\n"), strings.Join(lines(freshGot), "\n"))
			}
		})
	}
}

// TestCollectTCPUnchangedHidden checks that a Collect that keeps the TCP
// tables still places the owners whose ns/net is unreadable by the inode
// of their namespace's net/tcp, which the kept read found (not in a group
// of their own, whose tables would be read once more).
func TestCollectTCPUnchangedHidden(t *testing.T) {
	tree := hiddenHost()
	dir := writeTree(t, tree)
	c := newCollector(t, dir, 0)
	owners := ownersHiding(t, tree, 100, 101, 102, 200, 201, 500, 501)
	now := time.Now()
	first, err := c.Collect(t.Context(), now, owners, false)
	if err != nil {
		t.Fatal(err)
	}
	want, groups := lines(slices.Clone(first)), len(c.groups)
	if !slices.Contains(want, "4026532100 tcp 10.1.0.3:9000 0.0.0.0:0 LISTEN server 43 [201]") {
		t.Fatalf("hidden owner 201 not placed in its namespace by the first Collect:\n%s", strings.Join(want, "\n"))
	}
	// 201 walked again: the second Collect must join its sockets anew.
	owners = ownersHiding(t, tree, 100, 101, 102, 200, 500, 501)
	if _, err := c.Collect(t.Context(), now.Add(time.Second), owners, false); err != nil {
		t.Fatal(err)
	}
	owners = ownersHiding(t, tree, 100, 101, 102, 200, 201, 500, 501)
	kept0 := c.TablesKept()
	c.TCPUnchanged()
	got, err := c.Collect(t.Context(), now.Add(2*time.Second), owners, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.TablesKept() == kept0 {
		t.Errorf("kept no table")
	}
	if len(c.groups) != groups {
		t.Errorf("%d namespace groups, the first Collect had %d: a hidden owner was not placed in its namespace", len(c.groups), groups)
	}
	if !slices.Equal(lines(got), want) {
		t.Errorf("keeping the TCP tables:\n%s\nreading them:\n%s", strings.Join(lines(got), "\n"), strings.Join(want, "\n"))
	}
}
