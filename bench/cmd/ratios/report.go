package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// columns are the metrics writeTable gives a column of their own; every
// other metric goes to the last column as unit=value.
var columns = []string{"ns/op", "cpu-ns/op", "B/op", "allocs/op", "procs", "sockets"}

// writeTable prints every benchmark with its time, memory, counts and
// other metrics.
func writeTable(out io.Writer, r *results) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\ttime/op\tcpu/op\tB/op\tallocs/op\tprocs\tsockets\tallocs/proc\tother\t")
	for _, name := range r.order {
		ns, _ := r.get(name, "ns/op")
		cpu := "-"
		if v, ok := r.get(name, "cpu-ns/op"); ok {
			cpu = duration(v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, duration(ns), cpu,
			metric(r, name, "B/op"), metric(r, name, "allocs/op"),
			metric(r, name, "procs"), metric(r, name, "sockets"), perProc(r, name), others(r, name))
	}
	tw.Flush()
	fmt.Fprintln(out)
}

// others prints the metrics of a benchmark that have no column, sorted by
// unit, or "-".
func others(r *results, name string) string {
	var units []string
	for unit := range r.metrics[name] {
		if !slices.Contains(columns, unit) {
			units = append(units, unit)
		}
	}
	if len(units) == 0 {
		return "-"
	}
	slices.Sort(units)
	parts := make([]string, len(units))
	for i, unit := range units {
		v, _ := r.get(name, unit)
		parts[i] = unit + "=" + compact(v)
	}
	return strings.Join(parts, " ")
}

// writeRatios prints every spec with its value, target and result, and
// reports whether every target was met. Specs without a target (info)
// never fail the run; any failed benchmark or package does.
func writeRatios(out io.Writer, r *results) bool {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "issue\tratio\tvalue\ttarget\tresult")
	all := true
	for _, s := range specs {
		value, target, result, met := evaluate(r, s)
		all = all && met
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.issue, s.what, value, target, result)
	}
	tw.Flush()
	if len(r.failures) > 0 {
		all = false
		fmt.Fprintln(out)
		fmt.Fprintln(out, "failures:")
		for _, f := range r.failures {
			fmt.Fprintln(out, "  "+f)
		}
	}
	return all
}

// evaluate computes one spec: the printed value, target and result, and
// whether it counts as met.
func evaluate(r *results, s spec) (value, target, result string, met bool) {
	target = targetText(s)
	n, ok := r.get(s.num.bench, s.num.unit)
	d := s.div
	if d == 0 {
		d = 1
	}
	if s.den.bench != "" {
		v, okD := r.get(s.den.bench, s.den.unit)
		ok, d = ok && okD, v
	}
	if !ok || d == 0 {
		return "-", target, "missing benchmark", s.cmp == info
	}
	if s.cmp == ran {
		return s.text, target, "meets", true
	}
	v := n / d
	value = s.format(v)
	switch s.cmp {
	case info:
		return value, target, "-", true
	case atLeast:
		met = v >= s.target
	case atMost:
		met = v <= s.target
	case below:
		met = v < s.target
	}
	if met {
		return value, target, "meets", true
	}
	return value, target, "MISSES", false
}

// targetText prints a spec's target, "-" when it has none.
func targetText(s spec) string {
	switch s.cmp {
	case atLeast:
		return ">= " + s.format(s.target)
	case atMost:
		return "<= " + s.format(s.target)
	case below:
		return "< " + s.format(s.target)
	case ran:
		return s.text
	}
	return "-"
}

// duration prints nanoseconds with a readable unit.
func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// byteSize prints a byte count with a decimal unit (1 KB = 1000 B).
func byteSize(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", n/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1f KB", n/1e3)
	}
	return fmt.Sprintf("%.0f B", n)
}

// compact prints a metric value: whole numbers and large values without
// decimals, small fractions with three significant digits.
func compact(v float64) string {
	if v == math.Trunc(v) || math.Abs(v) >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// metric prints a metric or "-" when the benchmark has none.
func metric(r *results, name, unit string) string {
	v, ok := r.get(name, unit)
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// perProc prints allocs/op divided by procs, or "-".
func perProc(r *results, name string) string {
	a, okA := r.get(name, "allocs/op")
	p, okP := r.get(name, "procs")
	if !okA || !okP || p == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", a/p)
}
