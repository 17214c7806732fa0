package bench

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/bench/procfsnaive"
	"github.com/proctag/proctag/agent/internal/scan"
	"github.com/proctag/proctag/agent/internal/sockets"
)

// tick is what the agent does per tick for processes and sockets: a scan,
// then the sockets of the user processes (kernel threads hold none).
type tick struct {
	scanner *scan.Scanner
	sockets *sockets.Collector
	owners  []sockets.Owner
}

func newTick(b *testing.B, root string, fullEvery int) *tick {
	b.Helper()
	t, err := newTickConfig(root, fullEvery)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// newTickConfig returns a tick on root whose scanner re-reads everything
// every fullEvery scans (never when negative).
func newTickConfig(root string, fullEvery int) (*tick, error) {
	sc, err := scan.New(scan.Config{Root: root, FullRescanEvery: fullEvery}, hclog.NewNullLogger())
	if err != nil {
		return nil, err
	}
	so, err := sockets.New(sockets.Config{Root: root}, hclog.NewNullLogger())
	if err != nil {
		return nil, err
	}
	return &tick{scanner: sc, sockets: so}, nil
}

// close releases the stat fds the scanner keeps open between scans.
func (t *tick) close(b *testing.B) {
	b.Helper()
	if err := t.scanner.Close(); err != nil {
		b.Fatal(err)
	}
}

// run does one tick and returns the process and socket counts.
func (t *tick) run(ctx context.Context) (procs, socks int, err error) {
	res, err := t.scanner.Scan(ctx)
	if err != nil {
		return 0, 0, err
	}
	t.owners = t.owners[:0]
	for _, p := range res.Processes {
		if p.Argv != nil {
			t.owners = append(t.owners, sockets.Owner{Key: p.Key, StartTime: p.StartTime, NetNS: p.NetNS, UID: p.UID})
		}
	}
	ss, err := t.sockets.Collect(ctx, res.Time, t.owners, res.Full)
	if err != nil {
		return 0, 0, err
	}
	return len(res.Processes), len(ss), nil
}

// cpuTime returns the user plus system CPU time of this process so far.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds the counts cmd/ratios reads and the CPU time per op, which,
// unlike ns/op, does not grow when other work shares the machine. A
// benchmark that saw fewer processes than the host has fails: its time
// would mean nothing.
func report(b *testing.B, cpuStart time.Duration, procs, socks int) {
	b.Helper()
	reportCPU(b, cpuTime(b)-cpuStart, procs, socks)
}

// reportCPU is report for a benchmark that measured its own CPU time, cpu
// in all.
func reportCPU(b *testing.B, cpu time.Duration, procs, socks int) {
	b.Helper()
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	if procs != hostProcs {
		b.Fatalf("saw %d processes, the host has %d", procs, hostProcs)
	}
	b.ReportMetric(float64(procs), "procs")
	b.ReportMetric(float64(socks), "sockets")
}

// BenchmarkColdScan is the agent's first tick: a new Scanner and Collector,
// a full scan and the sockets of every user process (every fd/ walked).
func BenchmarkColdScan(b *testing.B) {
	root := hostDir(b)
	b.ReportAllocs()
	cpu := cpuTime(b)
	var procs, socks int
	for b.Loop() {
		t := newTick(b, root, 0)
		var err error
		if procs, socks, err = t.run(b.Context()); err != nil {
			b.Fatal(err)
		}
		t.close(b)
	}
	report(b, cpu, procs, socks)
}

// BenchmarkSteadyTick is a tick on a host where nothing changed since the
// last one: stat per process, no fd/ walk, the socket tables read again.
func BenchmarkSteadyTick(b *testing.B) { benchTicks(b, -1) }

// BenchmarkFullTick is a full re-read (full-rescan-every's tick) on a host
// where nothing changed since the last one: every process read again and
// every owner's fd/ walked, the socket tables read again.
func BenchmarkFullTick(b *testing.B) { benchTicks(b, 1) }

// benchTicks times ticks after the first on the shared host, with a
// scanner that re-reads everything every fullEvery scans (never when
// negative).
func benchTicks(b *testing.B, fullEvery int) {
	root := hostDir(b)
	t := newTick(b, root, fullEvery)
	defer t.close(b)
	if _, _, err := t.run(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cpuTime(b)
	var procs, socks int
	for b.Loop() {
		var err error
		if procs, socks, err = t.run(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	report(b, cpu, procs, socks)
}

// BenchmarkProcfsNaive is the baseline: prometheus/procfs used the
// obvious way for the same information.
func BenchmarkProcfsNaive(b *testing.B) {
	root := hostDir(b)
	b.ReportAllocs()
	cpu := cpuTime(b)
	var procs, socks int
	for b.Loop() {
		var err error
		if procs, socks, err = procfsnaive.Read(root); err != nil {
			b.Fatal(err)
		}
	}
	report(b, cpu, procs, socks)
}
