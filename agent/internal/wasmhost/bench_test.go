package wasmhost

// The benchmarks of the plugin step: BenchmarkApplySteady (a steady tick,
// no call, the cost per process of the caches) and BenchmarkApplyChanged
// (records that changed, called singly or in batches). `make bench` runs
// them with their targets; the figures are in the README and the closing
// notes, not here.

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
