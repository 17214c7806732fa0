package sockets

import (
	"slices"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

const nsC uint64 = 4026532300

// hiddenHost is host() with owners whose ns/net cannot be read: 201 in B,
// 500 and 501 in C (which no readable owner is in), and 600, which has no
// net/ either.
func hiddenHost() *fakeproc.Tree {
	tree := host()
	hidden := func(p fakeproc.Proc) fakeproc.Proc {
		p.HideNetNS = true
		return p
	}
	tree.Procs = append(tree.Procs, hidden(proc(201, 1, 2100, nsB)),
		hidden(proc(500, 1, 5000, nsC)), hidden(proc(501, 500, 5100, nsC)), proc(600, 1, 6000, 0))
	tree.AddSocket(nsB, fakeproc.TCP, tableRow(43, "10.1.0.3:9000", "0.0.0.0:0", fakeproc.TCPListen), 201)
	tree.AddSocket(nsC, fakeproc.TCP, tableRow(50, "10.2.0.2:7000", "0.0.0.0:0", fakeproc.TCPListen), 500, 501)
	tree.AddSocket(nsC, fakeproc.TCP, tableRow(51, "10.2.0.2:7000", "10.2.0.9:1234", fakeproc.TCPEstablished), 501)
	return tree
}

// ownersHiding is ownersOf with NetNS 0 for the owners whose ns/net the
// tree hides or leaves out, as the scan reports them.
func ownersHiding(t *testing.T, tree *fakeproc.Tree, pids ...int) []Owner {
	t.Helper()
	owners := ownersOf(t, tree, pids...)
	for i := range owners {
		j := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == owners[i].PID })
		if tree.Procs[j].HideNetNS {
			owners[i].NetNS = 0
		}
	}
	return owners
}

// TestCollectHiddenNamespace passes owners whose ns/net was unreadable
// (NetNS 0): each joins the group of its namespace, known by the inode of
// its net/tcp, and every namespace's tables are read once per Collect,
// cold, steady and full; namespaces no readable owner is in are reported
// as NetNS 0, never merged with one another.
func TestCollectHiddenNamespace(t *testing.T) {
	nsBWith43 := append(slices.Clone(hostWant[len(hostWant)-3:len(hostWant)-1]),
		"4026532100 tcp 10.1.0.3:9000 0.0.0.0:0 LISTEN server 43 [201]", hostWant[len(hostWant)-1])
	nsCAs0 := []string{
		"0 tcp 10.2.0.2:7000 0.0.0.0:0 LISTEN server 50 [500 501]",
		"0 tcp 10.2.0.2:7000 10.2.0.9:1234 ESTABLISHED server 51 [501]",
	}
	tests := []struct {
		name   string
		owners []int
		want   []string
		// reads is the number of socket tables read per Collect; hidden
		// the net/tcp stats of a cold or full Collect, steady those of a
		// steady one (only of owners whose inode is still unknown).
		reads, hidden, steady uint64
	}{
		{name: "no hidden owner", owners: []int{100, 101, 102, 200},
			want: hostWant, reads: 8},
		{name: "a hidden owner in the host namespace, as pid 1 in a sandbox", owners: []int{100, 101, 102, 200, 201},
			want: append(slices.Clone(hostWant[:len(hostWant)-3]), nsBWith43...), reads: 8, hidden: 1},
		{name: "hidden owners first", owners: []int{201, 200, 102, 101, 100},
			want: append(slices.Clone(hostWant[:len(hostWant)-3]), nsBWith43...), reads: 8, hidden: 1},
		{name: "a namespace with hidden owners only", owners: []int{100, 101, 102, 200, 500, 501},
			want: append(slices.Clone(nsCAs0), hostWant...), reads: 12, hidden: 2},
		{name: "two namespaces with hidden owners only are not merged", owners: []int{201, 500, 501},
			want: []string{
				"0 tcp 10.1.0.3:9000 0.0.0.0:0 LISTEN server 43 [201]",
				nsCAs0[0], nsCAs0[1],
			}, reads: 8, hidden: 3},
		{name: "an owner without net/ is alone", owners: []int{100, 101, 102, 200, 600},
			want: hostWant, reads: 8, hidden: 1, steady: 1},
	}
	tree := hiddenHost()
	dir := writeTree(t, tree)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector(t, dir, 0)
			owners := ownersHiding(t, tree, tt.owners...)
			for i, full := range []bool{false, false, true} {
				reads, stats := c.tableReads.Load(), c.tabStats.Load()
				got, err := c.Collect(t.Context(), time.Now(), owners, full)
				if err != nil {
					t.Fatal(err)
				}
				assertLines(t, got, tt.want...)
				if n := c.tableReads.Load() - reads; n != tt.reads {
					t.Errorf("collect %d: %d tables read, want %d", i, n, tt.reads)
				}
				wantStats := tt.hidden
				if i == 1 {
					wantStats = tt.steady
				}
				if n := c.tabStats.Load() - stats; n != wantStats {
					t.Errorf("collect %d: %d net/tcp stats, want %d", i, n, wantStats)
				}
			}
		})
	}
}
