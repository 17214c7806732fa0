package main

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestParseLine(t *testing.T) {
	tests := []struct {
		name, line string
		want       string
		metrics    map[string]float64
		ok         bool
	}{
		{name: "result with custom metrics", line: "BenchmarkColdScan-2   3   900 ns/op   10000 procs   12 allocs/op",
			want: "ColdScan", metrics: map[string]float64{"ns/op": 900, "procs": 10000, "allocs/op": 12}, ok: true},
		{name: "sub-benchmark keeps its path", line: "BenchmarkPluginCall/batch-16 1000 2.5 ns/op",
			want: "PluginCall/batch", metrics: map[string]float64{"ns/op": 2.5}, ok: true},
		{name: "no GOMAXPROCS suffix", line: "BenchmarkX 10 5 ns/op", want: "X", metrics: map[string]float64{"ns/op": 5}, ok: true},
		{name: "header line", line: "goos: linux"},
		{name: "benchmark log line", line: "BenchmarkColdScan-2 some log output here"},
		{name: "odd number of fields", line: "BenchmarkX-2 3 5 ns/op 7"},
		{name: "bad value", line: "BenchmarkX-2 3 five ns/op"},
		{name: "ok line", line: "ok  	github.com/proctag/proctag/agent/internal/bench	60.123s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, m, ok := parseLine(tt.line)
			if ok != tt.ok || name != tt.want || !maps.Equal(m, tt.metrics) {
				t.Errorf("parseLine(%q) = %q, %v, %v; want %q, %v, %v", tt.line, name, m, ok, tt.want, tt.metrics, tt.ok)
			}
		})
	}
}

func TestRunGolden(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		golden string
		met    bool
	}{
		{name: "every target met, median of three runs", input: "testdata/met.txt", golden: "testdata/met.golden", met: true},
		{name: "real run of every package, plugin call cost missed", input: "testdata/all.txt", golden: "testdata/all.golden", met: false},
		{name: "steady tick and every other package missing", input: "testdata/nosteady.txt", golden: "testdata/nosteady.golden", met: false},
		{name: "failed benchmark, failed build and a loud quiet tick", input: "testdata/fail.txt", golden: "testdata/fail.golden", met: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := os.Open(tt.input)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var out bytes.Buffer
			met, err := run(in, &out)
			if err != nil {
				t.Fatal(err)
			}
			if met != tt.met {
				t.Errorf("run reported targets met = %v, want %v", met, tt.met)
			}
			if *update {
				if err := os.WriteFile(tt.golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (rerun with -update and review the diff):\n%s", filepath.Base(tt.golden), out.String())
			}
		})
	}
}

func TestParseQualifiesByPackage(t *testing.T) {
	in := "pkg: github.com/proctag/proctag/agent/internal/rules\n" +
		"BenchmarkCompile-2 1402 739092 ns/op\n" +
		"pkg: github.com/proctag/proctag/agent/internal/wasmhost\n" +
		"BenchmarkCompile/no-cache-2 1 2630712795 ns/op\n" +
		"    --- FAIL: BenchmarkApplySteady\n" +
		"FAIL\tgithub.com/proctag/proctag/agent/internal/wasmhost\t1.0s\n"
	r, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"rules.Compile", "wasmhost.Compile/no-cache"}; !slices.Equal(r.order, want) {
		t.Errorf("names %q, want %q", r.order, want)
	}
	if v, ok := r.get("rules.Compile", "ns/op"); !ok || v != 739092 {
		t.Errorf("rules.Compile ns/op = %v, %v; want 739092", v, ok)
	}
	want := []string{"--- FAIL: BenchmarkApplySteady", "FAIL github.com/proctag/proctag/agent/internal/wasmhost 1.0s"}
	if !slices.Equal(r.failures, want) {
		t.Errorf("failures %q, want %q", r.failures, want)
	}
}

func TestEvaluate(t *testing.T) {
	r := &results{metrics: map[string]map[string][]float64{
		"a": {"ns/op": {3000}, "B": {999}},
		"b": {"ns/op": {1000}, "z": {0}},
	}}
	tests := []struct {
		name       string
		s          spec
		value, res string
		met        bool
	}{
		{name: "ratio at least, met on the boundary", s: spec{num: ref{"a", "ns/op"}, den: ref{"b", "ns/op"}, target: 3, cmp: atLeast, format: ratio}, value: "3.00x", res: "meets", met: true},
		{name: "ratio at least, missed", s: spec{num: ref{"a", "ns/op"}, den: ref{"b", "ns/op"}, target: 3.5, cmp: atLeast, format: ratio}, value: "3.00x", res: "MISSES"},
		{name: "at most, met on the boundary", s: spec{num: ref{"a", "ns/op"}, target: 3000, cmp: atMost, format: duration}, value: "3.0 µs", res: "meets", met: true},
		{name: "at most, missed", s: spec{num: ref{"a", "ns/op"}, target: 2999, cmp: atMost, format: duration}, value: "3.0 µs", res: "MISSES"},
		{name: "below is strict", s: spec{num: ref{"a", "B"}, target: 999, cmp: below, format: byteSize}, value: "999 B", res: "MISSES"},
		{name: "constant divisor", s: spec{num: ref{"a", "ns/op"}, div: 1000, target: 3, cmp: atMost, format: decimal}, value: "3.000", res: "meets", met: true},
		{name: "info never fails", s: spec{num: ref{"a", "ns/op"}, format: duration}, value: "3.0 µs", res: "-", met: true},
		{name: "info missing does not fail", s: spec{num: ref{"c", "ns/op"}, format: duration}, value: "-", res: "missing benchmark", met: true},
		{name: "target missing fails", s: spec{num: ref{"c", "ns/op"}, target: 1, cmp: atMost, format: duration}, value: "-", res: "missing benchmark"},
		{name: "zero denominator is missing", s: spec{num: ref{"a", "ns/op"}, den: ref{"b", "z"}, target: 1, cmp: atLeast, format: ratio}, value: "-", res: "missing benchmark"},
		{name: "ran: a result is the pass", s: spec{num: ref{"b", "ns/op"}, cmp: ran, text: "0 calls"}, value: "0 calls", res: "meets", met: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, _, res, met := evaluate(r, tt.s)
			if value != tt.value || res != tt.res || met != tt.met {
				t.Errorf("evaluate = %q, %q, %v; want %q, %q, %v", value, res, met, tt.value, tt.res, tt.met)
			}
		})
	}
}

func TestSpecsNameDistinctRatios(t *testing.T) {
	seen := make(map[string]bool)
	for _, s := range specs {
		key := s.issue + " " + s.what
		if seen[key] {
			t.Errorf("two specs named %q", key)
		}
		seen[key] = true
		if s.cmp != ran && s.format == nil {
			t.Errorf("spec %q has no format", key)
		}
	}
}

func TestRunNoResults(t *testing.T) {
	if _, err := run(strings.NewReader("PASS\n"), &bytes.Buffer{}); err == nil {
		t.Error("run accepted input without benchmark results")
	}
}

// FuzzParseLine checks that parseLine never panics and that an accepted
// line always has a name and at least one metric.
func FuzzParseLine(f *testing.F) {
	f.Add("BenchmarkColdScan-2   3   900 ns/op   10000 procs") // a result with a custom metric
	f.Add("BenchmarkPluginCall/batch-16 1000 2.5 ns/op")       // a sub-benchmark
	f.Add("BenchmarkX-2 3 5 ns/op 7")                          // a dangling value
	f.Add("goos: linux")                                       // a header
	f.Add("Benchmark- 1 1 x")                                  // a name that is only a suffix
	f.Fuzz(func(t *testing.T, line string) {
		name, m, ok := parseLine(line)
		if ok && (name == "" || len(m) == 0) {
			t.Errorf("parseLine(%q) accepted with name %q and metrics %v", line, name, m)
		}
	})
}
