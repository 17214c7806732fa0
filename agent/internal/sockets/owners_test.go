package sockets

import (
	"slices"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestHoldersCopyOnWrite follows two owners through the holder changes of
// their walks: the sockets an owner alone holds share its one-pid slice,
// every change of holders gives a socket a new slice, and no slice handed
// out before a change is changed by it.
func TestHoldersCopyOnWrite(t *testing.T) {
	c := &Collector{socks: make(map[uint64]*sock)}
	a, b := &ownerState{}, &ownerState{}
	const pa, pb = 10, 20
	holders := func(inode uint64) []int {
		if s := c.socks[inode]; s != nil {
			return s.holders()
		}
		return nil
	}
	want := func(inode uint64, pids ...int) {
		t.Helper()
		if got := holders(inode); !slices.Equal(got, pids) {
			t.Errorf("inode %d held by %v, want %v", inode, got, pids)
		}
	}

	c.setInodes(a, pa, nil, []uint64{1, 2, 3})
	want(1, pa)
	want(3, pa)
	if &holders(1)[0] != &holders(3)[0] || &holders(1)[0] != &a.self[0] {
		t.Error("the sockets one owner alone holds do not share its slice")
	}
	alone := holders(1)

	c.setInodes(b, pb, nil, []uint64{1, 4})
	want(1, pa, pb)
	want(4, pb)
	want(2, pa)
	both := holders(1)

	c.setInodes(a, pa, []uint64{1, 2, 3}, []uint64{3})
	want(1, pb)
	want(2)
	want(3, pa)
	if len(c.socks) != 3 {
		t.Errorf("%d sockets known, want 3 (1, 3, 4)", len(c.socks))
	}

	c.setInodes(b, pb, []uint64{1, 4}, []uint64{4})
	want(1)
	if !slices.Equal(alone, []int{pa}) || !slices.Equal(both, []int{pa, pb}) || !slices.Equal(a.self, []int{pa}) {
		t.Errorf("slices handed out changed: %v %v %v", alone, both, a.self)
	}
	if c.created != 4 || c.deleted != 2 {
		t.Errorf("created %d, deleted %d sockets, want 4 and 2", c.created, c.deleted)
	}
}

// TestSocketHolders: a Socket the collector reports points (Holders) to
// the very holders slice its PIDs are, two sockets of one owner alone to
// the same, and a Socket made elsewhere to a copy of its PIDs.
func TestSocketHolders(t *testing.T) {
	tree := &fakeproc.Tree{BootTime: bootTime, Procs: []fakeproc.Proc{proc(100, 1, 1000, nsA), proc(101, 1, 1000, nsA)}}
	tree.AddSocket(nsA, fakeproc.TCP, tableRow(10, "0.0.0.0:80", "0.0.0.0:0", fakeproc.TCPListen), 100)
	tree.AddSocket(nsA, fakeproc.TCP, tableRow(11, "10.0.0.1:80", "10.0.0.9:50000", fakeproc.TCPEstablished), 100)
	tree.AddSocket(nsA, fakeproc.TCP, tableRow(12, "10.0.0.1:80", "10.0.0.9:50001", fakeproc.TCPEstablished), 100, 101)
	c := newCollector(t, writeTree(t, tree), 0)
	got, err := c.Collect(t.Context(), time.Now(), ownersOf(t, tree, 100, 101), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("reported %d sockets, want 3", len(got))
	}
	for _, s := range got {
		if h := s.Holders(); !slices.Equal(*h, s.PIDs) || &(*h)[0] != &s.PIDs[0] {
			t.Errorf("socket %d: holders %v, PIDs %v: not the same slice", s.Inode, *h, s.PIDs)
		}
	}
	if got[0].Holders() != got[1].Holders() {
		t.Error("the two sockets owner 100 alone holds do not share its holders")
	}
	made := Socket{PIDs: []int{7}}
	if h := made.Holders(); !slices.Equal(*h, []int{7}) {
		t.Errorf("a Socket made elsewhere has holders %v", *h)
	}
}
