package bench

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

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
	b.ReportMetric(float64(cpuTime(b)-cpuStart)/float64(b.N), "cpu-ns/op")
	if procs != hostProcs {
		b.Fatalf("saw %d processes, the host has %d", procs, hostProcs)
	}
	b.ReportMetric(float64(procs), "procs")
	b.ReportMetric(float64(socks), "sockets")
}

// BenchmarkColdScan is the agent's first tick: a new Scanner and Collector,
// a full scan and the sockets of every user process (every fd/ walked).
func BenchmarkColdScan(b *testing.B) {
	root, _ := hostDir(b)
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
func BenchmarkSteadyTick(b *testing.B) {
	root, _ := hostDir(b)
	t := newTick(b, root, -1)
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
	root, _ := hostDir(b)
	b.ReportAllocs()
	cpu := cpuTime(b)
	var procs, socks int
	for b.Loop() {
		var err error
		if procs, socks, err = naive(root); err != nil {
			b.Fatal(err)
		}
	}
	report(b, cpu, procs, socks)
}

// naive reads every process with procfs, then each namespace's socket
// tables through its first process, and counts the sockets that have an
// owner.
func naive(root string) (procs, socks int, err error) {
	pfs, err := procfs.NewFS(root)
	if err != nil {
		return 0, 0, err
	}
	all, err := pfs.AllProcs()
	if err != nil {
		return 0, 0, err
	}
	owners := make(map[uint64][]int)
	netns := make(map[uint32]int)
	for _, p := range all {
		if _, err := p.Stat(); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return 0, 0, err
		}
		argv, err := p.CmdLine()
		if err != nil {
			return 0, 0, err
		}
		procs++
		if len(argv) == 0 {
			continue
		}
		targets, err := p.FileDescriptorTargets()
		if err != nil {
			return 0, 0, err
		}
		for _, t := range targets {
			if s, ok := strings.CutPrefix(t, "socket:["); ok {
				if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
					owners[ino] = append(owners[ino], p.PID)
				}
			}
		}
		ns, err := p.Namespaces()
		if err != nil {
			return 0, 0, err
		}
		if n, ok := ns["net"]; ok {
			if _, seen := netns[n.Inode]; !seen {
				netns[n.Inode] = p.PID
			}
		}
	}
	for _, pid := range netns {
		nfs, err := procfs.NewFS(filepath.Join(root, strconv.Itoa(pid)))
		if err != nil {
			return 0, 0, err
		}
		for _, read := range []func() ([]uint64, error){
			func() ([]uint64, error) { t, err := nfs.NetTCP(); return tcpInodes(t), err },
			func() ([]uint64, error) { t, err := nfs.NetTCP6(); return tcpInodes(t), err },
			func() ([]uint64, error) { t, err := nfs.NetUDP(); return udpInodes(t), err },
			func() ([]uint64, error) { t, err := nfs.NetUDP6(); return udpInodes(t), err },
		} {
			inodes, err := read()
			if err != nil {
				return 0, 0, err
			}
			for _, ino := range inodes {
				if len(owners[ino]) > 0 {
					socks++
				}
			}
		}
	}
	return procs, socks, nil
}

func tcpInodes(t procfs.NetTCP) []uint64 {
	out := make([]uint64, len(t))
	for i, l := range t {
		out[i] = l.Inode
	}
	return out
}

func udpInodes(t procfs.NetUDP) []uint64 {
	out := make([]uint64, len(t))
	for i, l := range t {
		out[i] = l.Inode
	}
	return out
}
