package main

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
)

// results holds every metric of every benchmark, in input order. A
// benchmark's name is qualified by the last element of the package it
// ran in ("sockets.ReadTCP"), taken from the preceding "pkg:" line, so that
// packages may use the same benchmark names.
type results struct {
	order []string
	// metrics maps benchmark name -> unit -> values (one per run).
	metrics map[string]map[string][]float64
	// failures are the input's "--- FAIL" and "FAIL" lines, trimmed.
	failures []string
}

// get returns the median of a benchmark's metric and whether it exists.
func (r *results) get(name, unit string) (float64, bool) {
	vs := r.metrics[name][unit]
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// parse reads `go test -bench` output, of one or several packages. Lines
// that are not results (goos, PASS, ok, logs) are skipped; failures are
// kept.
func parse(in io.Reader) (*results, error) {
	r := &results{metrics: make(map[string]map[string][]float64)}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	pkg := ""
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = path.Base(strings.TrimSpace(p))
			continue
		}
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "--- FAIL") || strings.HasPrefix(t, "FAIL\t") {
			r.failures = append(r.failures, strings.Join(strings.Fields(t), " "))
			continue
		}
		name, m, ok := parseLine(line)
		if !ok {
			continue
		}
		if pkg != "" {
			name = pkg + "." + name
		}
		if r.metrics[name] == nil {
			r.metrics[name] = make(map[string][]float64)
			r.order = append(r.order, name)
		}
		for unit, v := range m {
			r.metrics[name][unit] = append(r.metrics[name][unit], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read benchmark output: %w", err)
	}
	return r, nil
}

// parseLine parses one result line of the testing package's benchmark
// format (golang.org/design/14313-benchmark-format):
//
//	BenchmarkName-2   3   123456 ns/op   10000 procs   12 allocs/op
//
// The name loses its "Benchmark" prefix and its -GOMAXPROCS suffix.
func parseLine(line string) (string, map[string]float64, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") || len(f[0]) == len("Benchmark") {
		return "", nil, false
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return "", nil, false
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	m := make(map[string]float64, (len(f)-2)/2)
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		m[f[i+1]] = v
	}
	return name, m, true
}
