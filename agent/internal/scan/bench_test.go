package scan

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// The benchmarks scan a generated host of 10,000 processes and 100,000
// sockets (fakeproc.Generate(10000, 100000, 1)), written once per test
// binary run, on tmpfs when /dev/shm exists.
var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

func benchTree(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		base := os.TempDir()
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
		benchDir, benchErr = os.MkdirTemp(base, "proctag-bench-")
		if benchErr == nil {
			benchErr = fakeproc.Generate(10000, 100000, 1).Write(benchDir)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		_ = os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// BenchmarkScan compares, on the same tree: a cold scan (new Scanner, every
// file of every process), a steady tick (same Scanner, nothing changed:
// stat only), a full re-read on a warm Scanner, and prometheus/procfs used
// naively (AllProcs, then Stat and CmdLine per process) and reading the
// same files as a cold scan (stat, cmdline, the owner of PID, a stat of
// PID/root, cgroup, exe, ns/net).
func BenchmarkScan(b *testing.B) {
	root := benchTree(b)
	logger := hclog.NewNullLogger()
	for _, workers := range []int{1, 2} {
		name := map[int]string{1: "1worker", 2: "2workers"}[workers]
		b.Run("cold-"+name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				s, err := New(Config{Root: root, Workers: workers}, logger)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Scan(b.Context()); err != nil {
					b.Fatal(err)
				}
				_ = s.Close()
			}
		})
		b.Run("steady-"+name, func(b *testing.B) {
			s, err := New(Config{Root: root, Workers: workers, FullRescanEvery: -1}, logger)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Scan(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				res, err := s.Scan(b.Context())
				if err != nil || len(res.Added) != 0 {
					b.Fatal(err, len(res.Added))
				}
			}
		})
		b.Run("full-rescan-"+name, func(b *testing.B) {
			s, err := New(Config{Root: root, Workers: workers, FullRescanEvery: 1}, logger)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Scan(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := s.Scan(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("procfs-naive", func(b *testing.B) {
		benchProcfs(b, root, func(p procfs.Proc) {
			_, _ = p.CmdLine()
		})
	})
	b.Run("procfs-same-files", func(b *testing.B) {
		benchProcfs(b, root, func(p procfs.Proc) {
			_, _ = p.CmdLine()
			_, _ = os.Stat(filepath.Join(root, strconv.Itoa(p.PID)))
			_, _ = os.Stat(filepath.Join(root, strconv.Itoa(p.PID), "root"))
			_, _ = p.Cgroups()
			_, _ = p.Executable()
			_, _ = os.Readlink(filepath.Join(root, strconv.Itoa(p.PID), "ns", "net"))
		})
	})
}

// benchProcfs times prometheus/procfs used per process, the baseline: every
// loop lists the processes under root, reads each one's stat and, for those
// still there, does read.
func benchProcfs(b *testing.B, root string, read func(procfs.Proc)) {
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		fs, err := procfs.NewFS(root)
		if err != nil {
			b.Fatal(err)
		}
		procs, err := fs.AllProcs()
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range procs {
			if _, err := p.Stat(); err != nil {
				continue
			}
			read(p)
		}
	}
}

// reportCPU reports the process CPU time (user + system, all threads) per
// operation, which a loaded shared machine disturbs much less than wall
// time. Use as defer reportCPU(b)() right before the b.Loop loop.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
