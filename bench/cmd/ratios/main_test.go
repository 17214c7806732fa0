package main

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"path/filepath"
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
		{name: "targets met, median of three runs", input: "testdata/bench.txt", golden: "testdata/bench.golden", met: true},
		{name: "steady tick missing", input: "testdata/nosteady.txt", golden: "testdata/nosteady.golden", met: false},
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
