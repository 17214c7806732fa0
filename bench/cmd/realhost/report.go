package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// verdict is a row's result against its target.
type verdict int

const (
	// info rows have no target.
	info verdict = iota
	// met rows reached their target.
	met
	// missed rows did not.
	missed
	// failed rows could not be measured.
	failed
)

// String is the result column.
func (v verdict) String() string {
	switch v {
	case met:
		return "✓"
	case missed:
		return "✗ (miss)"
	case failed:
		return "✗ (error)"
	}
	return "-"
}

// check returns met when ok, else missed.
func check(ok bool) verdict {
	if ok {
		return met
	}
	return missed
}

// row is one line of the table.
type row struct {
	what, value, base, ratio, target string
	verdict                          verdict
	note                             string
}

// errorRow is the row of a measurement that failed.
func errorRow(what string, err error) row {
	return row{what: what, value: "-", base: "-", ratio: "-", target: "-", verdict: failed, note: err.Error()}
}

// writeTable prints rows aligned in columns, header first, then each
// row's note under "notes:".
func writeTable(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tfigure\tcomparison\tratio\ttarget\tresult")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.what, r.value, r.base, r.ratio, r.target, r.verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "notes:")
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.what, r.note)
		}
	}
	return nil
}

// median returns the middle value of xs (the upper of the two middles
// for an even count); xs is not modified. It panics on an empty slice.
func median(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// medianInt64 is median for byte counts.
func medianInt64(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of xs,
// which need not be sorted and is not modified. It panics on an empty
// slice.
func percentile(xs []time.Duration, p float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// ratio formats a/b as "0.65×", or "-" when b is 0.
func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// percent formats a/b as a percentage, or "-" when b is 0.
func percent(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f %%", 100*a/b)
}

// seconds formats d in seconds with two decimals.
func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// mib formats a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
