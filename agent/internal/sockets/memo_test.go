package sockets

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// memoHost is a namespace whose tcp (or tcp6) table spans many chunks of
// a read (rows of 150 bytes, 64 KiB at a time): process 100 holds pool
// sockets (inodes 1 to pool), of which the table lists rows.
type memoHost struct {
	t     *testing.T
	dir   string
	proto fakeproc.Proto
	tree  *fakeproc.Tree
	rows  []fakeproc.SockEntry
	free  []uint64 // pool inodes not in the table
	now   time.Time
}

func newMemoHost(t *testing.T, proto fakeproc.Proto, rows, pool int) *memoHost {
	tree := &fakeproc.Tree{BootTime: bootTime, Procs: []fakeproc.Proc{proc(100, 1, 1000, nsA)}}
	h := &memoHost{t: t, proto: proto, tree: tree, now: time.Now()}
	for i := 1; i <= pool; i++ {
		e := h.row(uint64(i), uint16(i))
		tree.AddSocket(nsA, proto, e, 100)
		if i <= rows {
			h.rows = append(h.rows, e)
		} else {
			h.free = append(h.free, uint64(i))
		}
	}
	// A time-wait row (the kernel's other layout) without a holder.
	tree.AddSocket(nsA, proto, fakeproc.SockEntry{Local: ap("10.0.0.1:9"), Remote: ap("10.0.0.2:9"), State: fakeproc.TCPTimeWait})
	h.dir = writeTree(t, tree)
	h.write()
	return h
}

// row is the row of socket inode on local port 20000+port: to 10.0.9.9
// in a tcp table, in a tcp6 table to an IPv6 address of its own, so that
// a row whose addresses did not move with it reports another peer.
func (h *memoHost) row(inode uint64, port uint16) fakeproc.SockEntry {
	local, remote := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.9.9")
	if h.proto == fakeproc.TCP6 {
		local = netip.MustParseAddr("2001:db8::1")
		r := local.As16()
		r[12], r[13], r[14], r[15] = byte(inode>>24), byte(inode>>16), byte(inode>>8), byte(inode)
		remote = netip.AddrFrom16(r)
	}
	return fakeproc.SockEntry{Inode: inode, Local: netip.AddrPortFrom(local, 20000+port%40000),
		Remote: netip.AddrPortFrom(remote, 443), State: fakeproc.TCPEstablished}
}

// write writes the table as h.rows says.
func (h *memoHost) write() {
	h.t.Helper()
	file := filepath.Join(h.dir, "100", "net", h.proto.String())
	if err := os.WriteFile(file, fakeproc.NetTable(h.proto, h.rows), 0o444); err != nil {
		h.t.Fatal(err)
	}
}

// collect runs a steady Collect on c and a first Collect on a new
// Collector, and fails unless both report the same sockets; it returns
// the chunks that c skipped and parsed.
func (h *memoHost) collect(c *Collector, what string) (skipped, parsed uint64) {
	h.t.Helper()
	owners := ownersOf(h.t, h.tree, 100)
	s0, p0 := c.chunksSkipped.Load(), c.chunksParsed.Load()
	h.now = h.now.Add(10 * time.Second)
	got, err := c.Collect(h.t.Context(), h.now, owners, false)
	if err != nil {
		h.t.Fatal(err)
	}
	want, err := newCollector(h.t, h.dir, 0).Collect(h.t.Context(), h.now, owners, true)
	if err != nil {
		h.t.Fatal(err)
	}
	if g, w := lines(got), lines(want); !slices.Equal(g, w) {
		h.t.Fatalf("after %s: a steady Collect reports %d sockets, a new Collector %d; first difference:\n%s",
			what, len(g), len(w), firstDiff(g, w))
	}
	return c.chunksSkipped.Load() - s0, c.chunksParsed.Load() - p0
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + "\n" + b[i]
		}
	}
	return strings.Join(append(a[min(len(a), len(b)):], b[min(len(a), len(b)):]...), "\n")
}

// TestTableMemo checks the chunks a steady Collect leaves alone: all of
// them when the table is the same, one when one row changed in place, the
// ones from a changed row count on when rows come or go (every row after
// it is numbered anew) — and that the sockets are always those a new
// Collector reports.
func TestTableMemo(t *testing.T) {
	const rows = 3000 // 450 KB: 7 or 8 chunks
	h := newMemoHost(t, fakeproc.TCP, rows, rows+100)
	c := newCollector(t, h.dir, 0)
	if _, parsed := h.collect(c, "the first Collect"); parsed == 0 {
		t.Fatal("the first Collect parsed no chunk")
	}
	// Every table is read in chunks, the last one empty (the read that
	// returns 0); the tcp table in several.
	tcp := uint64(len(c.memos[memoKey{ns: nsA}].chunks))
	var chunks uint64
	for _, m := range c.memos {
		chunks += uint64(len(m.chunks))
	}
	if tcp < 5 {
		t.Fatalf("the tcp table was read in %d chunks, want several", tcp)
	}

	h.write() // the same bytes
	if skipped, parsed := h.collect(c, "no change"); skipped != chunks || parsed != 0 {
		t.Errorf("no change: %d chunks skipped, %d parsed; want %d and 0", skipped, parsed, chunks)
	}

	// A row that is no longer reported (CLOSE_WAIT), then one that is
	// again: the rows of the chunks after move down, then are parsed.
	h.rows[rows/2].State = fakeproc.TCPCloseWait // the same width
	h.write()
	if skipped, parsed := h.collect(c, "a state changed in the middle"); parsed != 1 || skipped != chunks-1 {
		t.Errorf("one row no longer reported: %d chunks skipped, %d parsed; want %d and 1", skipped, parsed, chunks-1)
	}
	h.rows[rows/2].State = fakeproc.TCPEstablished
	h.write()
	if skipped, parsed := h.collect(c, "the state changed back"); parsed == 0 || skipped == 0 {
		t.Errorf("one row reported again: %d chunks skipped, %d parsed; want the chunks before it skipped", skipped, parsed)
	}

	h.rows = slices.Delete(h.rows, rows-10, rows-9) // near the end
	h.write()
	if skipped, parsed := h.collect(c, "a row removed near the end"); parsed == 0 || parsed > 2 || skipped < chunks-2 {
		t.Errorf("a row removed near the end: %d chunks skipped, %d parsed; want the last one or two parsed", skipped, parsed)
	}

	h.rows = slices.Insert(h.rows, 0, h.row(h.free[0], 7))
	h.free = h.free[1:]
	h.write()
	if skipped, parsed := h.collect(c, "a row added at the start"); skipped != chunks-tcp || parsed != tcp {
		t.Errorf("a row added at the start: %d chunks skipped, %d parsed; want %d and every chunk of the tcp table, %d (every row is renumbered)",
			skipped, parsed, chunks-tcp, tcp)
	}
	h.collect(c, "the same again") // the memo follows the new table
}

// TestTableMemoRandom changes the table at random, a few rows at a time,
// and requires after each step that a steady Collect reports what a new
// Collector does: a tcp table, and a tcp6 one whose rows' addresses are
// beside them.
func TestTableMemoRandom(t *testing.T) {
	for _, proto := range []fakeproc.Proto{fakeproc.TCP, fakeproc.TCP6} {
		t.Run(proto.String(), func(t *testing.T) { testTableMemoRandom(t, proto) })
	}
}

func testTableMemoRandom(t *testing.T, proto fakeproc.Proto) {
	const rows = 2000
	h := newMemoHost(t, proto, rows, rows+300)
	c := newCollector(t, h.dir, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	var skipped uint64
	for step := range 200 {
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(h.rows))
			switch op := rng.IntN(5); {
			case op == 0 && len(h.free) > 0: // a new socket
				h.rows = slices.Insert(h.rows, i, h.row(h.free[0], uint16(rng.IntN(40000))))
				h.free = h.free[1:]
			case op == 1 && len(h.rows) > 1: // a socket closed
				h.free = append(h.free, h.rows[i].Inode)
				h.rows = slices.Delete(h.rows, i, i+1)
			case op == 2: // a state change
				h.rows[i].State = []uint8{fakeproc.TCPEstablished, fakeproc.TCPCloseWait, fakeproc.TCPFinWait1}[rng.IntN(3)]
			case op == 3: // queues and timers, which no Socket shows
				h.rows[i].TxQueue, h.rows[i].When = uint32(rng.IntN(1<<20)), uint64(rng.IntN(1000))
			default: // unchanged this time
			}
		}
		h.write()
		s, _ := h.collect(c, fmt.Sprint("step ", step))
		skipped += s
	}
	if skipped == 0 {
		t.Error("no chunk was ever left alone")
	}
}

// TestTableMemoDropped checks that the memos of a namespace whose owners
// are all gone are forgotten, with their rows.
func TestTableMemoDropped(t *testing.T) {
	tree := host()
	c := newCollector(t, writeTree(t, tree), 0)
	namespaces := func() map[uint64]bool {
		ns := map[uint64]bool{}
		for k := range c.memos {
			ns[k.ns] = true
		}
		return ns
	}
	if _, err := c.Collect(t.Context(), time.Now(), ownersOf(t, tree, 100, 200), false); err != nil {
		t.Fatal(err)
	}
	if got := namespaces(); !got[nsA] || !got[nsB] || len(c.memos) != 2*len(tables) {
		t.Fatalf("memos of %v (%d), want the %d tables of namespaces A and B", got, len(c.memos), len(tables))
	}
	if _, err := c.Collect(t.Context(), time.Now(), ownersOf(t, tree, 100), false); err != nil {
		t.Fatal(err)
	}
	if got := namespaces(); !got[nsA] || got[nsB] || len(c.memos) != len(tables) {
		t.Fatalf("memos of %v (%d) once B's owner is gone, want A's %d alone", got, len(c.memos), len(tables))
	}
}

// TestMemosOfUnseenNamespaces checks that groups of unknown namespaces
// share a memo only when they read the same net/tcp: groups whose net/tcp
// could not be seen either (tab 0) each get their own, since their tables
// are read at once.
func TestMemosOfUnseenNamespaces(t *testing.T) {
	c := newCollector(t, t.TempDir(), 0)
	groups := []nsGroup{{ns: 0, tab: 0, head: 1}, {ns: 0, tab: 0, head: 2}, {ns: 0, tab: 77, head: 3}, {ns: 0, tab: 77, head: 4}, {ns: nsA, head: 5}}
	c.attachMemos(groups)
	for _, tt := range []struct {
		a, b  int
		share bool
	}{{0, 1, false}, {0, 2, false}, {2, 3, true}, {3, 4, false}} {
		for k := range tables {
			if same := groups[tt.a].tabs[k].memo == groups[tt.b].tabs[k].memo; same != tt.share {
				t.Errorf("groups %d and %d, table %s: one memo %v, want %v", tt.a, tt.b, tables[k].name, same, tt.share)
			}
		}
	}
}
