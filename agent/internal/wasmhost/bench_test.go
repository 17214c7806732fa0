package wasmhost

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
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func benchHost(b *testing.B, p PluginSpec) *Host {
	b.Helper()
	h, err := New(b.Context(), Config{CacheDir: sharedCacheDir, Plugins: []PluginSpec{p}}, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// BenchmarkApplyChanged measures the cost of calling the Go guest through
// Apply when every record changed since the last tick: one record (one
// proctag_process call) and batches (proctag_process_batch, 64 records a
// call). ns/record is the per-process cost.
func BenchmarkApplyChanged(b *testing.B) {
	for _, n := range []int{1, 64, 1000} {
		b.Run(fmt.Sprintf("procs=%d", n), func(b *testing.B) {
			h := benchHost(b, behave("g", func(p *PluginSpec) { p.Instances = 1; p.Timeout = time.Second }))
			procs := make([]Input, n)
			for i := range procs {
				procs[i] = proc(i+1, fmt.Sprintf("svc-%d", i))
			}
			tick := 0
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				tick++
				for i := range procs {
					procs[i].Record.PPID = tick // a change the plugin sees
				}
				h.Apply(b.Context(), procs)
			}
			reportPerRecord(b, cpu0, n)
			if st := pluginStats(b, h, "g"); len(st.Faults) != 0 {
				b.Fatalf("faults: %v", st.Faults)
			}
		})
	}
}

// BenchmarkApplySteady measures a steady tick: 10,000 unchanged processes,
// every result from the cache, zero calls.
func BenchmarkApplySteady(b *testing.B) {
	h := benchHost(b, behave("g"))
	procs := make([]Input, 10000)
	for i := range procs {
		procs[i] = proc(i+1, fmt.Sprintf("svc-%d", i))
	}
	h.Apply(b.Context(), procs)
	calls := pluginStats(b, h, "g").Calls
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		h.Apply(b.Context(), procs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(procs)), "ns/process")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N*len(procs)), "cpu-ns/process")
	if got := pluginStats(b, h, "g").Calls; got != calls {
		b.Fatalf("steady ticks made %d calls", got-calls)
	}
}

// cpuTime is the CPU time (user + system) of the test process so far.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerRecord reports wall and CPU time per record of the b.N loops
// over records each.
func reportPerRecord(b *testing.B, cpu0 time.Duration, records int) {
	b.Helper()
	n := float64(b.N * records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/n, "cpu-ns/record")
}
