package sandbox

// The benchmarks of one plugin call: BenchmarkCompile (with and without
// the disk cache), BenchmarkInstanceStart (time and memory of one
// instance), BenchmarkCallDeadline and BenchmarkSDKTemplate (per record,
// single and in batches of 64, with and without the deadline), and in
// overhead_bench_test.go the deadline's cost per loop iteration
// (BenchmarkLoopCheck) and per call (BenchmarkExportCall). `make bench`
// runs them with their targets; the figures are in the README and the
// closing notes, not here.

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
	"github.com/tetratelabs/wazero"
)

// BenchmarkInstanceStart measures starting one instance of the compiled Go
// guest (instantiate, _initialize, ABI version, init) and its memory: the
// guest's linear memory and the Go heap the host spends on it.
func BenchmarkInstanceStart(b *testing.B) {
	logger := hclog.NewNullLogger()
	p, err := LoadFile(b.Context(), "", behave("g"), logger, WithCacheDir(sharedCacheDir))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	var guest uint64
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		in, err := p.startInstance(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		guest = in.memoryBytes()
		in.close(b.Context())
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(guest), "guest-bytes/instance")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "heap-bytes/instance")
}

// BenchmarkCompile measures compiling the Go guest with no cache, and with
// a warm disk cache opened afresh (as at agent start).
func BenchmarkCompile(b *testing.B) {
	wasm, err := os.ReadFile(behaveWasm)
	if err != nil {
		b.Fatal(err)
	}
	glog := newGuestLog(hclog.NewNullLogger(), time.Now)
	compile := func(b *testing.B, cache wazero.CompilationCache) {
		m, err := compileModule(b.Context(), wasm, compileSpec{name: "g", memoryLimitBytes: 64 << 20, deadline: true}, cache, glog)
		if err != nil {
			b.Fatal(err)
		}
		_ = m.close(b.Context())
	}
	b.Run("no-cache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			compile(b, nil)
		}
	})
	b.Run("disk-cache", func(b *testing.B) {
		dir := b.TempDir()
		c, _ := wazero.NewCompilationCacheWithDir(dir)
		compile(b, c) // warm the cache
		_ = c.Close(b.Context())
		b.ReportAllocs()
		for b.Loop() {
			c, err := wazero.NewCompilationCacheWithDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			compile(b, c)
			_ = c.Close(b.Context())
		}
	})
}

// withoutDeadline is a benchmark-only LoadOption: no termination checks, no
// per-call deadline.
func withoutDeadline() LoadOption { return func(o *loadOptions) { o.noDeadline = true } }

// BenchmarkCallDeadline calls the Go guest through the host's call path
// (encode, copy in, call, copy out, decode), one record per call and 64 per
// batch call, with the per-call deadline the host always uses and without
// it, to show what stopping a looping guest costs: the instrumented guest
// counts fuel at every loop iteration and checks its stop global every
// 4096.
func BenchmarkCallDeadline(b *testing.B) {
	for _, dl := range []struct {
		name string
		opts []LoadOption
	}{{"deadline", nil}, {"no-deadline", []LoadOption{withoutDeadline()}}} {
		for _, n := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/records=%d", dl.name, n), func(b *testing.B) {
				p, err := LoadFile(b.Context(), "", behave("g"), hclog.NewNullLogger(), append(dl.opts, WithCacheDir(sharedCacheDir))...)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = p.Close(context.Background()) })
				benchRun(b, p, n, func(i int) abi.Record { return proc(i+1, fmt.Sprintf("svc-%d", i)).Record })
			})
		}
	}
}
