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

// TestListenerSets checks the listener sets a rewalk keeps across groups
// and Collects: a group sees only its own listeners' holders, a set is
// reused when its key comes again, and one that no group filled in a
// rewalk that filled any is forgotten.
func TestListenerSets(t *testing.T) {
	c := newCollector(t, t.TempDir(), 0)
	holders := func(pids ...int) *sock { return &sock{pids: &pids} }
	c.socks[1], c.socks[2], c.socks[3] = holders(10), holders(11, 12), holders(20)
	listener := func(g *nsGroup, tab int, port uint16, inode uint32) {
		r := parsedRow{e: entry{lport: port, lbits: 32, inode: inode, state: stateListen}}
		if tables[tab].udp {
			r.e.state = stateClose
		}
		g.tabs[tab].add(&r, tables[tab].v6, 0)
	}
	var a, b nsGroup
	listener(&a, 0, 80, 1)
	listener(&a, 1, 80, 2) // tcp6: the same key as tcp
	listener(&a, 2, 53, 4) // no known holder
	listener(&b, 0, 443, 3)
	rw := &c.rewalks
	check := func(what string, key uint32, want []int) {
		t.Helper()
		if got := rw.listenerPIDs(key); !slices.Equal(got, want) {
			t.Errorf("%s: pids of %#x = %v, want %v", what, key, got, want)
		}
	}
	tcp80, tcp443, udp53 := listenKey(false, 80), listenKey(false, 443), listenKey(true, 53)

	rw.begin(c, nil)
	rw.fillListeners(&a)
	check("group a", tcp80, []int{10, 11, 12})
	check("group a", udp53, nil)
	set80 := rw.listeners[tcp80]
	rw.fillListeners(&b)
	check("group b", tcp443, []int{20})
	check("group b", tcp80, nil)
	rw.end()
	if len(rw.listeners) != 2 {
		t.Errorf("%d sets kept after a rewalk that filled both, want 2", len(rw.listeners))
	}

	rw.begin(c, nil)
	rw.fillListeners(&a)
	check("group a again", tcp80, []int{10, 11, 12})
	if rw.listeners[tcp80] != set80 {
		t.Error("the set of a key that came again was made anew")
	}
	rw.end()
	if _, ok := rw.listeners[tcp443]; ok || len(rw.listeners) != 1 {
		t.Errorf("sets after a rewalk that filled group a only: %v, want port 80's alone", rw.listeners)
	}
	rw.begin(c, nil)
	rw.end()
	if len(rw.listeners) != 1 {
		t.Errorf("a rewalk that filled nothing forgot sets: %d left", len(rw.listeners))
	}
}
