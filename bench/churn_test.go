package bench

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/pipeline"
	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/snapshot"
)

// churnShare is the share of the host's TCP sockets that BenchmarkChurnTick
// replaces before each tick.
const churnShare = 0.01

// churnHost is a generated host (its own copy, as the benchmark changes
// it) and what changing it needs, kept without the generated tree, whose
// pointers the garbage collector would otherwise mark on every tick: the
// TCP table file of each namespace, and where each replaceable socket is.
type churnHost struct {
	dir    string
	tables map[uint64]*churnTable
	socks  []churnSock
	next   uint64 // the next unused inode
	turn   int    // which sockets the next change replaces
}

// churnTable is a namespace's TCP table as written, and where each row
// starts in it.
type churnTable struct {
	file string
	data []byte
	rows []int // offset of row i's line
}

// churnSock is one ESTABLISHED TCP socket that one fd of one process
// holds: its namespace and row, its table entry, and the fd.
type churnSock struct {
	ns      uint64
	row     int
	entry   fakeproc.SockEntry
	pid, fd int
}

// newChurnHost writes a generated host like the shared one (another seed)
// into a directory of its own and indexes its single-owner ESTABLISHED TCP
// sockets.
func newChurnHost(b *testing.B) *churnHost {
	b.Helper()
	h := &churnHost{dir: b.TempDir(), tables: map[uint64]*churnTable{}}
	tree := fakeproc.Generate(hostProcs, hostSockets, hostSeed+1)
	if err := tree.Write(h.dir); err != nil {
		b.Fatal(err)
	}
	holder := map[uint64][2]int{} // inode -> pid, fd; -1 when held twice
	for _, p := range tree.Procs {
		for _, fd := range p.FDs {
			var inode uint64
			if _, err := fmt.Sscanf(fd.Target, "socket:[%d]", &inode); err != nil {
				continue
			}
			if _, dup := holder[inode]; dup {
				holder[inode] = [2]int{-1, -1}
			} else {
				holder[inode] = [2]int{p.PID, fd.Num}
			}
			h.next = max(h.next, inode+1)
		}
	}
	// The namespaces in order, so that every run replaces the same sockets.
	for _, ns := range slices.Sorted(maps.Keys(tree.NetNS)) {
		tabs := tree.NetNS[ns]
		for row, e := range tabs.TCP {
			h.next = max(h.next, e.Inode+1)
			if at, ok := holder[e.Inode]; ok && at[0] >= 0 && e.State == fakeproc.TCPEstablished {
				h.socks = append(h.socks, churnSock{ns: ns, row: row, entry: e, pid: at[0], fd: at[1]})
			}
		}
		t := &churnTable{file: filepath.Join(h.dir, ".fakeproc", "net", strconv.FormatUint(ns, 10), "tcp")}
		var err error
		if t.data, err = os.ReadFile(t.file); err != nil {
			b.Fatal(err)
		}
		for off := bytes.IndexByte(t.data, '\n') + 1; off < len(t.data); off += bytes.IndexByte(t.data[off:], '\n') + 1 {
			t.rows = append(t.rows, off)
		}
		if len(t.rows) != len(tabs.TCP) {
			b.Fatalf("%s: %d rows, want %d", t.file, len(t.rows), len(tabs.TCP))
		}
		h.tables[ns] = t
	}
	if want := int(churnShare * hostSockets); len(h.socks) < want {
		b.Fatalf("%d single-owner ESTABLISHED sockets, want at least %d to replace", len(h.socks), want)
	}
	return h
}

// change replaces the next churnShare of the host's sockets, as clients
// closing connections and opening new ones from other ports: each gets a
// new inode and remote port, in its table row and its holder's fd. It
// rewrites the TCP tables it changed and replaces the fd links.
func (h *churnHost) change(b *testing.B) {
	b.Helper()
	n := int(churnShare * hostSockets)
	changed := map[uint64]bool{}
	var line []byte
	for range n {
		s := &h.socks[h.turn%len(h.socks)]
		h.turn++
		e := &s.entry
		e.Inode, e.Remote = h.next, netip.AddrPortFrom(e.Remote.Addr(), e.Remote.Port()%60000+1024+1)
		h.next++
		t := h.tables[s.ns]
		line = fakeproc.AppendSockLine(line[:0], fakeproc.TCP, s.row, e)
		at := t.rows[s.row]
		if old := bytes.IndexByte(t.data[at:], '\n') + 1; old != len(line) {
			b.Fatalf("row %d of %s: %d bytes, was %d (tcp rows are padded to one width)", s.row, t.file, len(line), old)
		}
		copy(t.data[at:], line)
		changed[s.ns] = true
		link := filepath.Join(h.dir, strconv.Itoa(s.pid), "fd", strconv.Itoa(s.fd))
		if err := os.Remove(link); err != nil {
			b.Fatal(err)
		}
		if err := os.Symlink("socket:["+strconv.FormatUint(e.Inode, 10)+"]", link); err != nil {
			b.Fatal(err)
		}
	}
	for ns := range changed {
		t := h.tables[ns]
		if err := os.WriteFile(t.file, t.data, 0o444); err != nil {
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
	t.sockets.Recycle(func(any) bool { return false }) // as the agent's publisher, which holds the last report only
	if _, _, err := t.run(b.Context()); err != nil {
		b.Fatal(err)
	}
	runtime.GC() // the set-up's garbage is not the ticks' to collect
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

// BenchmarkAgentChurnTick is BenchmarkChurnTick through the agent's
// pipeline, with the default config's rules (every process reported, the
// sockets in their wire form), and the delta the publisher sends after it
// (Diff and its encoding): what an agent pays per tick on a host whose
// connections churn. Only the tick's and the delta's CPU counts in
// cpu-ns/op.
func BenchmarkAgentChurnTick(b *testing.B) {
	h := newChurnHost(b)
	cfg := config.Default()
	set, errs := rules.Compile(cfg.Rules, func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	red, err := redact.Compile(cfg.CmdlineRedact, true)
	if err != nil {
		b.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Root: h.dir, Rules: set, Redactor: red, FullRescanEvery: -1}, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	enc, err := snapshot.NewEncoder("proctag", 0)
	if err != nil {
		b.Fatal(err)
	}
	prev, st, err := p.Tick(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	// As the agent's publisher does once it sent a state: the last state,
	// which the next delta goes against, is held; older ones are not.
	p.RecycleSockets(func(socks []snapshot.SocketRow) bool { return len(socks) > 0 && &socks[0] == &prev.SocketRows[0] })
	runtime.GC() // the set-up's garbage is not the ticks' to collect
	b.ReportAllocs()
	var cpu time.Duration
	var bytes int
	for b.Loop() {
		b.StopTimer()
		h.change(b)
		b.StartTimer()
		start := cpuTime(b)
		var snap *snapshot.Snapshot
		snap, st, err = p.Tick(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		msgs, err := enc.EncodeDelta(snapshot.Envelope{HostID: "churn"}, snapshot.Diff(prev, snap))
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - start
		for _, m := range msgs {
			bytes += len(m.Data)
		}
		prev = snap
	}
	reportCPU(b, cpu, st.Processes, prev.NumSockets()) // every process scanned
	b.ReportMetric(float64(bytes)/float64(b.N), "delta-bytes/op")
}
