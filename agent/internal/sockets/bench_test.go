package sockets

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/procfs"

	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/procid"
)

// tcpTableDir writes ROOT/1/net/tcp with n established IPv4 rows and
// returns ROOT.
func tcpTableDir(b *testing.B, n int) string {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([]fakeproc.SockEntry, n)
	for i := range rows {
		rows[i] = fakeproc.SockEntry{
			Local:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(256)), byte(r.IntN(256))}), uint16(32768+r.IntN(28000))),
			Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(r.IntN(256)), byte(r.IntN(256))}), 443),
			State:  fakeproc.TCPEstablished, Inode: uint64(100000 + i), RTO: 200, ATO: 40, Cwnd: 10, Ssthresh: -1,
		}
	}
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "1", "net"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1", "net", "tcp"), fakeproc.NetTable(fakeproc.TCP, rows), 0o444); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkReadTCP reads and parses a 100,000-row /proc/PID/net/tcp.
func BenchmarkReadTCP(b *testing.B) {
	dir := tcpTableDir(b, 100000)
	r := newReader(dir)
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		rows = 0
		if err := r.readTable(1, &tables[0], func(*parsedRow) { rows++ }); err != nil || rows != 100000 {
			b.Fatal(rows, err)
		}
	}
}

// BenchmarkReadTCPProcfs is the same with prometheus/procfs NetTCP, the
// baseline.
func BenchmarkReadTCPProcfs(b *testing.B) {
	fs, err := procfs.NewFS(filepath.Join(tcpTableDir(b, 100000), "1"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rows, err := fs.NetTCP()
		if err != nil || len(rows) != 100000 {
			b.Fatal(len(rows), err)
		}
	}
}

// genHost writes fakeproc.Generate(procs, socks, 1) and returns its root
// and the owners of all user processes.
func genHost(b *testing.B, procs, socks int) (string, []Owner) {
	b.Helper()
	tree := fakeproc.Generate(procs, socks, 1)
	dir := b.TempDir()
	if err := tree.Write(dir); err != nil {
		b.Fatal(err)
	}
	boot := time.Unix(tree.BootTime, 0)
	var owners []Owner
	for _, p := range tree.Procs {
		if len(p.Argv) > 0 || p.RawCmdline != "" {
			owners = append(owners, Owner{Key: procid.Key{PID: p.PID, StartTicks: p.StartTicks}, NetNS: p.NetNS,
				StartTime: boot.Add(time.Duration(p.StartTicks) * 10 * time.Millisecond)})
		}
	}
	return dir, owners
}

// BenchmarkCollectCold is a first Collect over 2,000 processes and about
// 20,000 sockets: every fd/ is walked.
func BenchmarkCollectCold(b *testing.B) {
	dir, owners := genHost(b, 2000, 20000)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		c, err := New(Config{Root: dir}, hclog.NewNullLogger())
		if err != nil {
			b.Fatal(err)
		}
		socks, err := c.Collect(b.Context(), time.Now(), owners, false)
		if err != nil {
			b.Fatal(err)
		}
		n = len(socks)
	}
	b.ReportMetric(float64(n), "sockets")
}

// BenchmarkCollectSteady is a Collect after which nothing changed: no fd/
// is walked, the tables are read again.
func BenchmarkCollectSteady(b *testing.B) {
	dir, owners := genHost(b, 2000, 20000)
	c, err := New(Config{Root: dir}, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Collect(b.Context(), time.Now(), owners, false); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Collect(b.Context(), time.Now(), owners, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(owners)), "ns/owner")
}

// hideNetNS marks pid 1 and every seventh other owner as owners whose
// ns/net could not be read (NetNS 0), as for pid 1 of a sandbox or the
// processes of another user namespace: their tables must still be read
// once per namespace.
func hideNetNS(owners []Owner) []Owner {
	out := slices.Clone(owners)
	for i := range out {
		if out[i].PID == 1 || i%7 == 3 {
			out[i].NetNS = 0
		}
	}
	return out
}

// BenchmarkCollectSteadyHiddenNetNS is BenchmarkCollectSteady with the
// owners of hideNetNS. It reports the socket tables read per Collect.
func BenchmarkCollectSteadyHiddenNetNS(b *testing.B) {
	dir, owners := genHost(b, 2000, 20000)
	owners = hideNetNS(owners)
	c, err := New(Config{Root: dir}, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Collect(b.Context(), time.Now(), owners, false); err != nil {
		b.Fatal(err)
	}
	reads := c.tableReads.Load()
	cpu := cpuTime(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Collect(b.Context(), time.Now(), owners, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(c.tableReads.Load()-reads)/float64(b.N), "tables/op")
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the user and system CPU time of this process so far, in
// nanoseconds: on a busy machine it varies less than the wall time.
func cpuTime(b *testing.B) int64 {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSortRows sorts the rows of one part as orderPart does: 100,000
// loopback connections in the random order of a kernel's hash table, each
// compared through its entry.
func BenchmarkSortRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := new(nsGroup)
	es := &g.tabs[0]
	lo := netip.MustParseAddr("127.0.0.1")
	for range 100000 {
		var r parsedRow
		r.set(false, endpointOf(netip.AddrPortFrom(lo, uint16(rng.IntN(60000)))))
		r.set(true, endpointOf(netip.AddrPortFrom(lo, uint16(rng.IntN(60000)))))
		r.e.inode = uint32(rng.Uint64N(1 << 30))
		es.add(&r, false, 100000)
	}
	rows := make([]row, len(es.entries))
	for i := range rows {
		rows[i] = row{entry: &es.entries[i], idx: uint32(i)}
	}
	work := make([]row, len(rows))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, rows)
		slices.SortFunc(work, func(a, b row) int { return compareRows(g, &a, g, &b) })
	}
}
