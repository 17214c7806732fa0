// Package report prints the result tables of the whole-process benchmark
// programs (cmd/realhost, cmd/fleet): one row per measurement with its
// figure, what it is compared with, the ratio, the target and a verdict,
// then each row's note; and the small formatting and statistics helpers
// the rows are built with. It owns the table's layout only: what is
// measured, and against which target, belongs to each program.
package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// Verdict is a row's result against its target.
type Verdict int

const (
	// Info rows have no target.
	Info Verdict = iota
	// Met rows reached their target.
	Met
	// Missed rows did not.
	Missed
	// Failed rows could not be measured.
	Failed
)

// String is the result column.
func (v Verdict) String() string {
	switch v {
	case Met:
		return "✓"
	case Missed:
		return "✗ (miss)"
	case Failed:
		return "✗ (error)"
	}
	return "-"
}

// Check returns Met when ok, else Missed.
func Check(ok bool) Verdict {
	if ok {
		return Met
	}
	return Missed
}

// Row is one line of the table. Empty text fields print as they are; use
// "-" for a column that does not apply.
type Row struct {
	// What names the measurement.
	What string
	// Value is the figure measured, Base what it is compared with and
	// Ratio the two set against each other.
	Value, Base, Ratio string
	// Target is what the figure should reach, Verdict whether it did.
	Target  string
	Verdict Verdict
	// Note, printed under the table, says how the figure was measured or
	// why it could not be.
	Note string
}

// ErrorRow is the row of a measurement that failed: err goes to its note.
func ErrorRow(what string, err error) Row {
	return Row{What: what, Value: "-", Base: "-", Ratio: "-", Target: "-", Verdict: Failed, Note: err.Error()}
}

// WriteTable prints rows aligned in columns, header first, then each
// row's note under "notes:".
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tfigure\tcomparison\tratio\ttarget\tresult")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.What, r.Value, r.Base, r.Ratio, r.Target, r.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "notes:")
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.What, r.Note)
		}
	}
	return nil
}

// AnyFailed reports whether a row could not be measured.
func AnyFailed(rows []Row) bool {
	for _, r := range rows {
		if r.Verdict == Failed {
			return true
		}
	}
	return false
}

// Median returns the middle value of xs (the upper of the two middles
// for an even count); xs is not modified. It panics on an empty slice.
func Median[T int64 | time.Duration | float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of xs,
// which need not be sorted and is not modified. It panics on an empty
// slice.
func Percentile(xs []time.Duration, p float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Ratio formats a/b as "0.65×", or "-" when b is 0.
func Ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// Percent formats a/b as a percentage, or "-" when b is 0.
func Percent(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f %%", 100*a/b)
}

// Seconds formats d in seconds with two decimals.
func Seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// MiB formats a byte count in MiB.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
