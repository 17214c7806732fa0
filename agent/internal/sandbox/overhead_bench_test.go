package sandbox

import (
	"context"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk/sdktest"
)

// Where the per-call deadline's cost goes. wazero 1.12 implements
// WithCloseOnContextDone by compiling, at every wasm loop header, an
// indirect call to a trampoline that leaves native code for Go
// (callEngine.callWithStack handles ExitCodeCheckModuleExitCode: it calls
// FailIfClosed and re-enters with afterGoFunctionCallEntrypoint), taken on
// every iteration whether or not the context ended; and it starts one
// watchdog goroutine per export call. Go's wasm port compiles every
// function that calls another into a loop (its resumable-stack dispatch),
// so a Go guest takes that exit roughly once per function call too. These
// benchmarks measure the two parts separately: the per-iteration exit
// (BenchmarkLoopCheck) and the fixed per-call cost (BenchmarkExportCall),
// for the three stop modes: "deadline" is the host's default now (the
// module instrumented by package instrument, no exit per iteration, a
// timer per call), "context" is wazero's close-on-context-done, kept for
// modules the rewriter refuses, "no-deadline" neither. Numbers are in
// bench_test.go's header.

// countingLoop is a hand-made plugin whose proctag_process(ptr, n) runs a
// loop of n iterations and returns "unchanged".
func countingLoop() []byte {
	body := []byte{
		0x03, 0x40, // loop
		0x20, 0x01, // local.get 1 (n)
		0x41, 0x01, // i32.const 1
		0x6b,       // i32.sub
		0x22, 0x01, // local.tee 1
		0x0d, 0x00, // br_if 0
		0x0b,       // end
		0x42, 0x00, // i64.const 0: unchanged
	}
	return handPlugin(0x00010000, body, nil).bytes()
}

// benchInstance compiles wasm for the stop mode (StopInline: instrumented;
// StopNone: not) and starts one instance of it.
func benchInstance(b *testing.B, wasm []byte, mode StopMode) *instance {
	b.Helper()
	glog := newGuestLog(hclog.NewNullLogger(), time.Now)
	var m *module
	var err error
	cs := compileSpec{name: "bench", memoryLimitBytes: 64 << 20, deadline: mode == StopInline}
	m, err = compileModule(b.Context(), wasm, cs, nil, glog)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.close(context.Background()) })
	in, err := m.newInstance(b.Context(), instanceConfig{name: "bench", memoryLimitBytes: 64 << 20, stdout: io.Discard, stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	return in
}

// deadlines are the ways of running a guest: as the host does (the module
// instrumented, a deadline per call) and with neither.
var deadlines = []deadlineMode{{"deadline", StopInline, time.Second}, {"no-deadline", StopNone, 0}}

// deadlineMode is one way of running a guest.
type deadlineMode struct {
	name    string
	mode    StopMode
	timeout time.Duration
}

// BenchmarkLoopCheck runs a counting loop of 10,000 iterations in one
// call: ns/iteration is what one loop iteration costs, with wazero's
// termination check (an exit to Go) and without.
func BenchmarkLoopCheck(b *testing.B) {
	const iterations = 10000
	wasm := countingLoop()
	for _, dl := range deadlines {
		b.Run(dl.name, func(b *testing.B) {
			in := benchInstance(b, wasm, dl.mode)
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := b.Context(), context.CancelFunc(func() {})
				if dl.timeout > 0 {
					ctx, cancel = context.WithTimeout(ctx, dl.timeout)
				}
				in.stack[0], in.stack[1] = 0, iterations
				err := in.process.CallWithStack(ctx, in.stack[:])
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*iterations), "ns/iteration")
		})
	}
}

// BenchmarkExportCall measures the fixed cost of one call through the
// host's call path (deadline context, proctag_alloc, copy in,
// proctag_process, copy out) on a hand-made guest whose proctag_process
// returns at once: what the host and wazero spend per call, guest work
// aside.
func BenchmarkExportCall(b *testing.B) {
	input := []byte{0x01, 0x01, 0x07} // Record{pid: 7}
	for _, dl := range deadlines {
		b.Run(dl.name, func(b *testing.B) {
			in := benchInstance(b, handPlugin(0x00010000, nil, nil).bytes(), dl.mode)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := in.call(b.Context(), "bench", dl.timeout, in.process, input, maxOutputBytes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuTime is the CPU time (user + system) the process used so far. The
// benchmarks here are single-threaded but for wazero's watchdog goroutine,
// so on a loaded machine cpu-ns is the better guide than wall time.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportPerRecord(b *testing.B, cpu0 time.Duration, records int) {
	b.Helper()
	n := float64(b.N * records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/n, "cpu-ns/record")
}

// BenchmarkSDKTemplate is what a plugin written with the Go SDK costs in the
// agent: sdk/template (two tags a record) on a typical record (a JVM with
// two tags, every field but env), through the plugin step's call path (Run), one record
// per proctag_process call and 64 per proctag_process_batch call, with the
// per-call deadline the agent always uses and, for comparison, without.
func BenchmarkSDKTemplate(b *testing.B) {
	benchTemplate(b, nil, deadlines, []int{1, 64})
}

// BenchmarkSDKTemplateGrant is BenchmarkSDKTemplate's batch of 64 with the
// deadline, the plugin granted only the fields its manifest
// (sdk/template/template.yaml) names, pid and process_name, instead of the
// default grant: the host encodes, and the guest decodes, two fields a
// record instead of twelve.
func BenchmarkSDKTemplateGrant(b *testing.B) {
	benchTemplate(b, []string{"pid", "process_name"}, deadlines[:1], []int{64})
}

// benchTemplate runs sdk/template granted fields (nil: the default grant)
// with each deadline mode and batch size.
func benchTemplate(b *testing.B, fields []string, modes []deadlineMode, sizes []int) {
	dir := b.TempDir()
	if _, err := sdktest.BuildTo("../../../sdk/template", dir); err != nil {
		b.Fatal(err)
	}
	spec := Spec{
		Name: "template", Path: dir + "/template.wasm", Config: []byte("payments"),
		Capabilities: []string{"tag"}, TagPrefix: "example.com/",
		Timeout: time.Second, MemoryLimitBytes: 64 << 20, Instances: 1, Fields: fields,
	}
	for _, dl := range modes {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/records=%d", dl.name, n), func(b *testing.B) {
				opts := []LoadOption{WithCacheDir(sharedCacheDir)}
				if dl.mode == StopNone {
					opts = append(opts, withoutDeadline())
				}
				p, err := LoadFile(b.Context(), "", spec, hclog.NewNullLogger(), opts...)
				if err != nil {
					b.Fatal(err)
				}
				if p.StopMode() != dl.mode {
					b.Fatalf("stop mode %v, want %v", p.StopMode(), dl.mode)
				}
				b.Cleanup(func() { _ = p.Close(context.Background()) })
				out := benchRun(b, p, n, func(i int) abi.Record { return sdktest.JVMRecord(1000 + i) })
				if got := len(out[n-1].Result.SetTags); got != 2 {
					b.Fatalf("the template set %d tags, want 2", got)
				}
			})
		}
	}
}

// benchRun times p.Run, the call path of the agent's plugin step, on n
// records made by rec, and reports the cost per record; it returns the
// records' outcomes.
func benchRun(b *testing.B, p *Plugin, n int, rec func(i int) abi.Record) []Outcome {
	b.Helper()
	recs := make([][]byte, n)
	for i := range recs {
		r := rec(i)
		recs[i] = abi.AppendRecord(nil, &r, p.Fields())
	}
	out := make([]Outcome, n)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		if err := p.Run(b.Context(), recs, out); err != nil {
			b.Fatal(err)
		}
	}
	reportPerRecord(b, cpu0, n)
	return out
}
