package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// Targets of issue 3 ("Speed").
const (
	MinNaiveOverCold       = 2.0
	MinColdOverSteady      = 5.0
	MaxSteadyAllocsPerProc = 0.1
)

// Benchmark names the ratios use.
const (
	cold   = "ColdScan"
	steady = "SteadyTick"
	naive  = "ProcfsNaive"
)

// writeTable prints every benchmark with its time, memory and counts.
func writeTable(out io.Writer, r *results) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\ttime/op\tcpu/op\tB/op\tallocs/op\tprocs\tsockets\tallocs/proc\t")
	for _, name := range r.order {
		ns, _ := r.get(name, "ns/op")
		cpu := "-"
		if v, ok := r.get(name, "cpu-ns/op"); ok {
			cpu = duration(v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, duration(ns), cpu,
			metric(r, name, "B/op"), metric(r, name, "allocs/op"),
			metric(r, name, "procs"), metric(r, name, "sockets"), perProc(r, name))
	}
	tw.Flush()
	fmt.Fprintln(out)
}

// writeRatios prints the target ratios and reports whether all were met.
func writeRatios(out io.Writer, r *results) bool {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ratio\tvalue\ttarget\tresult")
	all := true
	line := func(what string, v float64, have bool, format, target string, met bool) {
		switch {
		case !have:
			fmt.Fprintf(tw, "%s\t-\t%s\tmissing benchmark\n", what, target)
			all = false
		default:
			res := "meets"
			if !met {
				res, all = "MISSES", false
			}
			fmt.Fprintf(tw, "%s\t"+format+"\t%s\t%s\n", what, v, target, res)
		}
	}
	for _, unit := range []struct{ unit, what string }{{"ns/op", "time"}, {"cpu-ns/op", "cpu"}} {
		c, okC := r.get(cold, unit.unit)
		s, okS := r.get(steady, unit.unit)
		n, okN := r.get(naive, unit.unit)
		okC, okS, okN = okC && c > 0, okS && s > 0, okN && n > 0
		line("procfs naive / cold scan ("+unit.what+")", n/c, okC && okN, "%.2fx", fmt.Sprintf(">= %gx", MinNaiveOverCold), n/c >= MinNaiveOverCold)
		line("cold scan / steady tick ("+unit.what+")", c/s, okC && okS, "%.2fx", fmt.Sprintf(">= %gx", MinColdOverSteady), c/s >= MinColdOverSteady)
	}
	a, okA := r.get(steady, "allocs/op")
	p, okP := r.get(steady, "procs")
	line("steady tick allocs per process", a/p, okA && okP && p > 0, "%.3f", fmt.Sprintf("<= %g", MaxSteadyAllocsPerProc), a/p <= MaxSteadyAllocsPerProc)
	tw.Flush()
	return all
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
