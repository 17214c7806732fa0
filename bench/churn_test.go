package bench

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// churnShare is the share of the host's TCP sockets that BenchmarkChurnTick
// replaces before each tick.
const churnShare = 0.01

// churnHost is a generated host (its own copy, as the benchmark changes
// it) and where each ESTABLISHED TCP socket is: its namespace and row,
// and the process and fd that hold it.
type churnHost struct {
	dir   string
	tree  *fakeproc.Tree
	socks []churnSock
	next  uint64 // the next unused inode
	turn  int    // which sockets the next change replaces
}

type churnSock struct {
	ns         uint64
	row        int // index in the namespace's TCP table
	proc, fd   int // index in Procs and in its FDs
	remotePort uint16
}

// newChurnHost writes a generated host like the shared one (another seed)
// into a directory of its own and indexes its single-owner ESTABLISHED TCP
// sockets.
func newChurnHost(b *testing.B) *churnHost {
	b.Helper()
	h := &churnHost{dir: b.TempDir(), tree: fakeproc.Generate(hostProcs, hostSockets, hostSeed+1)}
	if err := h.tree.Write(h.dir); err != nil {
		b.Fatal(err)
	}
	holder := map[uint64][2]int{} // inode -> proc, fd; -1 when held twice
	for pi := range h.tree.Procs {
		for fi, fd := range h.tree.Procs[pi].FDs {
			var inode uint64
			if _, err := fmt.Sscanf(fd.Target, "socket:[%d]", &inode); err != nil {
				continue
			}
			if _, dup := holder[inode]; dup {
				holder[inode] = [2]int{-1, -1}
			} else {
				holder[inode] = [2]int{pi, fi}
			}
			h.next = max(h.next, inode+1)
		}
	}
	for ns, tabs := range h.tree.NetNS {
		for row, e := range tabs.TCP {
			h.next = max(h.next, e.Inode+1)
			if at, ok := holder[e.Inode]; ok && at[0] >= 0 && e.State == fakeproc.TCPEstablished {
				h.socks = append(h.socks, churnSock{ns: ns, row: row, proc: at[0], fd: at[1], remotePort: e.Remote.Port()})
			}
		}
	}
	if want := int(churnShare * hostSockets); len(h.socks) < want {
		b.Fatalf("%d single-owner ESTABLISHED sockets, want at least %d to replace", len(h.socks), want)
	}
	return h
}

// change replaces the next churnShare of the host's sockets, as clients
// closing connections and opening new ones from other ports: each gets a
// new inode and remote port, in its table row and its holder's fd. It
// rewrites the TCP tables and fd/ directories it changed.
func (h *churnHost) change(b *testing.B) {
	b.Helper()
	n := int(churnShare * hostSockets)
	tables := map[uint64]bool{}
	procs := map[int]bool{}
	for range n {
		s := &h.socks[h.turn%len(h.socks)]
		h.turn++
		e := &h.tree.NetNS[s.ns].TCP[s.row]
		s.remotePort = s.remotePort%60000 + 1024 + 1
		e.Inode, e.Remote = h.next, netip.AddrPortFrom(e.Remote.Addr(), s.remotePort)
		h.tree.Procs[s.proc].FDs[s.fd].Target = "socket:[" + strconv.FormatUint(h.next, 10) + "]"
		h.next++
		tables[s.ns], procs[s.proc] = true, true
	}
	for ns := range tables {
		file := filepath.Join(h.dir, ".fakeproc", "net", strconv.FormatUint(ns, 10), "tcp")
		if err := os.WriteFile(file, fakeproc.NetTable(fakeproc.TCP, h.tree.NetNS[ns].TCP), 0o444); err != nil {
			b.Fatal(err)
		}
	}
	for pi := range procs {
		if err := h.tree.Rewrite(h.dir, h.tree.Procs[pi]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChurnTick is a steady tick (no full re-read) after 1 % of the
// host's TCP connections were replaced by new ones: the collector must
// find the new sockets' holders and report the change. Only the tick's
// CPU counts in cpu-ns/op (the changes are written with the timer
// stopped).
func BenchmarkChurnTick(b *testing.B) {
	h := newChurnHost(b)
	t := newTick(b, h.dir, -1)
	defer t.close(b)
	if _, _, err := t.run(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var cpu time.Duration
	var procs, socks int
	for b.Loop() {
		b.StopTimer()
		h.change(b)
		b.StartTimer()
		start := cpuTime(b)
		var err error
		if procs, socks, err = t.run(b.Context()); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - start
	}
	reportCPU(b, cpu, procs, socks)
}
