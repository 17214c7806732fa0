//go:build linux

package sdk_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk/sdktest"
)

// These benchmarks run the template plugin on bare wazero, without the
// per-call deadline the agent always uses (wazero's WithCloseOnContextDone,
// which stops a looping plugin): they measure the SDK and the guest alone.
// What a plugin costs in the agent, deadline included, is
// BenchmarkSDKTemplate in agent/internal/wasmhost (README, "What it costs").

// loadTemplate builds sdk/template into b's temp dir and starts it.
func loadTemplate(b *testing.B) *sdktest.Plugin {
	b.Helper()
	p, err := sdktest.Load(context.Background(), sdktest.Build(b, "template"), []byte("payments"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// BenchmarkWasmProcess is one record per proctag_process call through the
// SDK, host side included: encode, alloc + write, call, read, decode.
func BenchmarkWasmProcess(b *testing.B) {
	p := loadTemplate(b)
	rec := sdktest.JVMRecord(4242)
	ctx := context.Background()
	var in []byte
	var res abi.Result
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		in = abi.AppendRecord(in[:0], &rec, abi.FieldsDefault)
		out, err := p.CallProcess(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if err := abi.DecodeResult(out, &res); err != nil || len(res.SetTags) != 2 {
			b.Fatalf("result %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/float64(b.N), "cpu-ns/record")
}

// BenchmarkWasmProcessBatch100 is 100 records per proctag_process_batch
// call, every one changed; ns/record and cpu-ns/record are the per-record
// cost.
func BenchmarkWasmProcessBatch100(b *testing.B) {
	const n = 100
	p := loadTemplate(b)
	recs := make([]abi.Record, n)
	for i := range recs {
		recs[i] = sdktest.JVMRecord(1000 + i)
	}
	ctx := context.Background()
	var in []byte
	fn := func(abi.IndexedResult) error { return nil }
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		in = abi.AppendBatch(in[:0], recs, abi.FieldsDefault)
		out, err := p.CallProcessBatch(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if err := abi.DecodeBatchResult(out, fn); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/float64(b.N*n), "cpu-ns/record")
}

// cpuTime is the CPU time (user + system) the test process used so far. On
// a shared machine the wall-clock ns/op includes time spent waiting for a
// core; cpu-ns/record is the work itself (the benchmark is single-threaded,
// so the two agree on an idle machine).
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
