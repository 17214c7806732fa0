package sandbox

// Measured on the 2-core development machine, shared with other builds
// (load average 2 to 6, so wall times vary by up to 2x between runs; the
// CPU time per record is the steadier guide), Go 1.26, wazero 1.12, the
// behave test guest (Go, abi package, three tags a record) unless said:
//
//	BenchmarkApplyChanged procs=1      34–38 µs/record, 41–43 µs CPU (one proctag_process call;
//	                                   95–160 µs, 76–100 µs CPU in a more loaded run)
//	BenchmarkApplyChanged procs=64     33–59 µs/record, 35–45 µs CPU (one batch call)
//	BenchmarkApplyChanged procs=1000   36–55 µs/record, 37–47 µs CPU (16 batch calls)
//	BenchmarkApplySteady  10k procs   0.27–0.52 µs/process, zero calls, 1 allocation/process
//	BenchmarkInstanceStart             8.0 ms, 3.0 MiB guest memory, 6.9 MB Go heap allocated
//	BenchmarkCompile no-cache          818 ms
//	BenchmarkCompile disk-cache         86 ms   (these three from an earlier, quieter run)
//	BenchmarkLoopCheck context        31–43 ns per loop iteration (wazero's close-on-context-done)
//	BenchmarkLoopCheck no-deadline     0.3 ns per loop iteration
//	BenchmarkExportCall context        2.6–3.6 µs per call (alloc + process, empty guest)
//	BenchmarkExportCall no-deadline    0.04–0.05 µs per call
//
// The figures above (ApplyChanged included) and these are from before
// plugins were instrumented, when every call ran with wazero's
// close-on-context-done (now the "context" mode, only for modules the
// rewriter refuses):
//
//	BenchmarkCallDeadline deadline     25–69 µs (1) / 28–40 µs (64) per record
//	BenchmarkSDKTemplate deadline      35–57 µs (1) / 30–48 µs (64) per record, sdk/template
//	BenchmarkCallDeadline no-deadline  4.4–13 µs (1) / 4.6–8.8 µs (64) per record
//	BenchmarkSDKTemplate no-deadline   6.3–14 µs (1) / 4.8–15 µs (64) per record
//
// With the module instrumented (package instrument: every loop counts
// fuel and every 4096 iterations checks a stop global a timer sets) the
// deadline costs about what the noise is; measured in one later, busier
// run (no-deadline was slower than in the run above, so compare within a
// run):
//
//	BenchmarkCallDeadline deadline     6.7–11 µs (1) / 6.4–12 µs (64) per record
//	BenchmarkCallDeadline no-deadline  6.2–7.6 µs (1) / 7.2–17 µs (64) per record
//	BenchmarkSDKTemplate deadline      9.7–16 µs (1) / 7.8–10 µs (64) per record
//	BenchmarkSDKTemplate no-deadline   5.7–11 µs (1) / 6.5–10 µs (64) per record
//	BenchmarkLoopCheck deadline        0.78 ns per loop iteration
//	BenchmarkExportCall deadline       0.63 µs per call (a time.AfterFunc and a
//	                                   context.AfterFunc per call, no watchdog goroutine)
//
// The per-call deadline used to be most of a call's cost, paid inside
// wazero's compiled guest code, not in the host: see
// overhead_bench_test.go. A CPU profile of BenchmarkCallDeadline
// deadline/records=64 (context mode) had half its samples in the guest's native code
// (runtime._ExternalCode, trampolines included) and most of the rest in
// callEngine.callWithStack's ExitCodeCheckModuleExitCode case
// (FailIfClosed, afterGoFunctionCallEntrypoint): one exit to Go per loop
// iteration, ≈ 700 per record for this Go guest ((35 − 8 µs) / 38 ns).
// The host's own per-call work in that mode (context.WithTimeout, wazero's watchdog
// goroutine, copying, decoding, grant checks) is 3–4 µs per call (up to
// ≈ 10 µs when the other core is busy: the watchdog goroutine wants a
// thread), ≈ 0.1 µs per record in a batch of 64.
// Steady ticks went from 4 allocations a process to 1 (one Effects array
// per Apply, one growth of the tag list per result).

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
