package main

import "fmt"

// Targets of issue 3 ("Speed").
const (
	MinNaiveOverCold       = 2.0
	MinColdOverSteady      = 5.0
	MaxSteadyAllocsPerProc = 0.1
)

// Targets of issue 4 ("Speed and memory"), in nanoseconds.
const (
	MaxPluginNsPerRecord = 5_000
	MaxInstanceStartNs   = 20_000_000
)

// Targets of issue 5 ("Speed"). A tick's CPU budget is the default 10 s
// publish interval times the 2 cores of the reference machine.
const (
	TickCPUBudgetNs   = 10e9 * 2
	MaxQuietTickBytes = 1000
	MinJSONOverWire   = 5.0
)

// Targets of the lean agent: a steady tick's CPU as a share of a
// cold scan's, and a plugin call per record in the agent, in nanoseconds.
// The whole-process rows (RSS, cold scan against procfs) are realhost's.
const (
	MaxSteadyOverCold      = 0.05
	MaxChurnOverCold       = 0.1
	MaxLeanPluginNsPerCall = 2_500
)

// ref names one metric of one benchmark: "pkg.Name[/sub]" and a unit.
type ref struct{ bench, unit string }

// cmp is how a value is held against its target.
type cmp int

const (
	info    cmp = iota // no target: the value is shown for the reader
	atLeast            // value >= target
	atMost             // value <= target
	below              // value < target
	ran                // met when the benchmark has a result: it fails itself otherwise
)

// format prints a value or a target.
type format func(float64) string

func ratio(v float64) string   { return fmt.Sprintf("%.2fx", v) }
func decimal(v float64) string { return fmt.Sprintf("%.3f", v) }
func count(v float64) string   { return fmt.Sprintf("%.0f", v) }

// spec is one line of the ratio table: num / den (or num / div when den
// is unset), held against target with cmp.
type spec struct {
	issue  string
	what   string
	num    ref
	den    ref
	div    float64 // the denominator when den is unset; 0 means 1
	target float64
	cmp    cmp
	format format
	// text replaces the value when cmp is ran.
	text string
}

// specs is every ratio the report prints, grouped by issue.
var specs = []spec{
	// Issue 3: cold scan, steady tick and the naive procfs baseline.
	{issue: "3", what: "procfs naive / cold scan (time)", num: ref{"bench.ProcfsNaive", "ns/op"}, den: ref{"bench.ColdScan", "ns/op"}, target: MinNaiveOverCold, cmp: atLeast, format: ratio},
	{issue: "3", what: "cold scan / steady tick (time)", num: ref{"bench.ColdScan", "ns/op"}, den: ref{"bench.SteadyTick", "ns/op"}, target: MinColdOverSteady, cmp: atLeast, format: ratio},
	// The targets are about time; CPU is shown because the scans use
	// both cores and the naive baseline one.
	{issue: "3", what: "procfs naive / cold scan (cpu)", num: ref{"bench.ProcfsNaive", "cpu-ns/op"}, den: ref{"bench.ColdScan", "cpu-ns/op"}, cmp: info, format: ratio},
	{issue: "3", what: "cold scan / steady tick (cpu)", num: ref{"bench.ColdScan", "cpu-ns/op"}, den: ref{"bench.SteadyTick", "cpu-ns/op"}, cmp: info, format: ratio},
	{issue: "3", what: "steady tick allocs per process", num: ref{"bench.SteadyTick", "allocs/op"}, den: ref{"bench.SteadyTick", "procs"}, target: MaxSteadyAllocsPerProc, cmp: atMost, format: decimal},
	{issue: "3", what: "rules: cold / steady evaluate, 10k procs", num: ref{"rules.Evaluate/cold", "ns/op"}, den: ref{"rules.Evaluate/steady", "ns/op"}, format: ratio},

	// Issue 4: plugin calls, instances, compilation.
	{issue: "4", what: "SDK plugin via sdktest, batch of 100 (time)", num: ref{"sdk.WasmProcessBatch100", "ns/record"}, target: MaxPluginNsPerRecord, cmp: atMost, format: duration},
	{issue: "4", what: "SDK plugin via sdktest, batch of 100 (cpu)", num: ref{"sdk.WasmProcessBatch100", "cpu-ns/record"}, target: MaxPluginNsPerRecord, cmp: atMost, format: duration},
	{issue: "4", what: "SDK plugin via sdktest, single", num: ref{"sdk.WasmProcess", "ns/op"}, format: duration},
	{issue: "4", what: "SDK plugin in the agent, batch of 64, deadline (time)", num: ref{"sandbox.SDKTemplate/deadline/records=64", "ns/record"}, target: MaxPluginNsPerRecord, cmp: atMost, format: duration},
	{issue: "4", what: "SDK plugin in the agent, batch of 64, deadline (cpu)", num: ref{"sandbox.SDKTemplate/deadline/records=64", "cpu-ns/record"}, target: MaxPluginNsPerRecord, cmp: atMost, format: duration},
	{issue: "4", what: "SDK plugin in the agent, batch of 64, no deadline", num: ref{"sandbox.SDKTemplate/no-deadline/records=64", "ns/record"}, format: duration},
	{issue: "4", what: "SDK plugin in the agent, single, deadline", num: ref{"sandbox.SDKTemplate/deadline/records=1", "ns/record"}, format: duration},
	{issue: "4", what: "ABI decoding in a Go wasm guest, batch of 64", num: ref{"abi.DecodeBatch64/wasm", "ns/record"}, format: duration},
	{issue: "4", what: "test guest in the agent, batch of 64, deadline", num: ref{"sandbox.CallDeadline/deadline/records=64", "ns/record"}, format: duration},
	{issue: "4", what: "test guest in the agent, batch of 64, no deadline", num: ref{"sandbox.CallDeadline/no-deadline/records=64", "ns/record"}, format: duration},
	{issue: "4", what: "fixed cost of one export call, deadline", num: ref{"sandbox.ExportCall/deadline", "ns/op"}, format: duration},
	{issue: "4", what: "fixed cost of one export call, no deadline", num: ref{"sandbox.ExportCall/no-deadline", "ns/op"}, format: duration},
	{issue: "4", what: "guest loop iteration, deadline / no deadline", num: ref{"sandbox.LoopCheck/deadline", "ns/iteration"}, den: ref{"sandbox.LoopCheck/no-deadline", "ns/iteration"}, format: ratio},
	{issue: "4", what: "instance start from the cache", num: ref{"sandbox.InstanceStart", "ns/op"}, target: MaxInstanceStartNs, cmp: atMost, format: duration},
	{issue: "4", what: "memory per instance: guest linear memory", num: ref{"sandbox.InstanceStart", "guest-bytes/instance"}, format: byteSize},
	{issue: "4", what: "memory per instance: Go heap allocated", num: ref{"sandbox.InstanceStart", "heap-bytes/instance"}, format: byteSize},
	{issue: "4", what: "plugin calls on a steady tick, 10k procs", num: ref{"wasmhost.ApplySteady", "ns/process"}, cmp: ran, text: "0 calls"},
	{issue: "4", what: "steady tick plugin cost per process", num: ref{"wasmhost.ApplySteady", "ns/process"}, format: duration},
	{issue: "4", what: "compile without cache / with disk cache", num: ref{"sandbox.Compile/no-cache", "ns/op"}, den: ref{"sandbox.Compile/disk-cache", "ns/op"}, format: ratio},
	{issue: "4", what: "compile with disk cache", num: ref{"sandbox.Compile/disk-cache", "ns/op"}, format: duration},

	// Issue 5: encode, publish, wire bytes, subscriber.
	{issue: "5", what: "publish full 10k/100k snapshot (cpu)", num: ref{"publish.PublishFull", "cpu-ns/op"}, target: TickCPUBudgetNs, cmp: atMost, format: duration},
	{issue: "5", what: "publish full 10k/100k snapshot (time)", num: ref{"publish.PublishFull", "ns/op"}, format: duration},
	{issue: "5", what: "quiet host tick on the wire, publisher", num: ref{"publish.PublishTick/churn=0", "wire-bytes/tick"}, target: MaxQuietTickBytes, cmp: below, format: byteSize},
	{issue: "5", what: "quiet host tick on the wire, encoder", num: ref{"snapshot.WirePerTick/quiet", "wire-bytes/tick"}, target: MaxQuietTickBytes, cmp: below, format: byteSize},
	{issue: "5", what: "typical delta on the wire (5 procs, 50 sockets)", num: ref{"publish.PublishTick/churn=5", "wire-bytes/tick"}, format: byteSize},
	{issue: "5", what: "typical delta publish", num: ref{"publish.PublishTick/churn=5", "ns/op"}, format: duration},
	{issue: "5", what: "busy tick on the wire (100 procs, 1000 sockets)", num: ref{"snapshot.WirePerTick/busy", "wire-bytes/tick"}, format: byteSize},
	{issue: "5", what: "raw JSON / compressed full snapshot", num: ref{"snapshot.EncodeFull", "json-bytes"}, den: ref{"snapshot.EncodeFull", "wire-bytes"}, target: MinJSONOverWire, cmp: atLeast, format: ratio},
	{issue: "5", what: "encode full snapshot", num: ref{"snapshot.EncodeFull", "ns/op"}, format: duration},
	{issue: "5", what: "diff of two 10k/100k states", num: ref{"snapshot.DiffFull", "ns/op"}, format: duration},
	{issue: "5", what: "subscriber apply, typical delta", num: ref{"snapshot.AssemblerDelta", "ns/op"}, format: duration},
	{issue: "5", what: "subscriber apply, full snapshot", num: ref{"snapshot.AssemblerFull", "ns/op"}, format: duration},

	// The lean agent's in-process rows (marked 12).
	{issue: "12", what: "steady tick / cold scan, nothing changed (cpu)", num: ref{"bench.SteadyTick", "cpu-ns/op"}, den: ref{"bench.ColdScan", "cpu-ns/op"}, target: MaxSteadyOverCold, cmp: atMost, format: ratio},
	{issue: "12", what: "full re-read / cold scan, nothing changed (cpu)", num: ref{"bench.FullTick", "cpu-ns/op"}, den: ref{"bench.ColdScan", "cpu-ns/op"}, cmp: info, format: ratio},
	{issue: "12", what: "steady tick / cold scan, 1 % of sockets replaced (cpu)", num: ref{"bench.ChurnTick", "cpu-ns/op"}, den: ref{"bench.ColdScan", "cpu-ns/op"}, target: MaxChurnOverCold, cmp: atMost, format: ratio},
	{issue: "12", what: "sockets seen by that tick (of 100,000; the rest at the next full re-read)", num: ref{"bench.ChurnTick", "sockets"}, format: count},
	{issue: "12", what: "agent churn tick, pipeline and delta / cold scan (cpu)", num: ref{"bench.AgentChurnTick", "cpu-ns/op"}, den: ref{"bench.ColdScan", "cpu-ns/op"}, cmp: info, format: ratio},
	{issue: "12", what: "SDK plugin in the agent, batch of 64, deadline (cpu)", num: ref{"sandbox.SDKTemplate/deadline/records=64", "cpu-ns/record"}, target: MaxLeanPluginNsPerCall, cmp: atMost, format: duration},
	{issue: "12", what: "the same, granted only its manifest's fields (cpu)", num: ref{"sandbox.SDKTemplateGrant/deadline/records=64", "cpu-ns/record"}, format: duration},

	// Libraries we replaced, against the library.
	{issue: "lib", what: "procfs NetTCP / our table reader, 100k rows (time)", num: ref{"sockets.ReadTCPProcfs", "ns/op"}, den: ref{"sockets.ReadTCP", "ns/op"}, format: ratio},
	{issue: "lib", what: "procfs NetTCP / our table reader, 100k rows (B/op)", num: ref{"sockets.ReadTCPProcfs", "B/op"}, den: ref{"sockets.ReadTCP", "B/op"}, format: ratio},
}
