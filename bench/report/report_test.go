package report

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	twenty := ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
	tests := []struct {
		name string
		xs   []time.Duration
		p    float64
		want time.Duration
	}{
		{"p50 of 20 is the 10th", twenty, 50, 10 * time.Millisecond},
		{"p99 of 20 is the largest", twenty, 99, 20 * time.Millisecond},
		{"p50 of one", ms(7), 50, 7 * time.Millisecond},
		{"p50 of 3 is the middle", ms(3, 1, 2), 50, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.xs, tt.p); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if twenty[0] != 20*time.Millisecond {
		t.Error("percentile sorted its argument")
	}
	if got := Median(ms(5, 1, 3)); got != 3*time.Millisecond {
		t.Errorf("median %v, want 3ms", got)
	}
}

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{What: "cold scan", Value: "1.00 s", Base: "2.00 s", Ratio: Ratio(1, 2), Target: "≤ 0.8×", Verdict: Check(true), Note: "median of 3"},
		{What: "latency p99", Value: "1.20 s", Base: "10s interval", Ratio: "0.12×", Target: "≤ 1.00 s", Verdict: Check(false)},
		ErrorRow("churn", errTest("the agent exited")),
	}
	var b strings.Builder
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := `measurement  figure  comparison    ratio  target    result
cold scan    1.00 s  2.00 s        0.50×  ≤ 0.8×    ✓
latency p99  1.20 s  10s interval  0.12×  ≤ 1.00 s  ✗ (miss)
churn        -       -             -      -         ✗ (error)
notes:
  cold scan: median of 3
  churn: the agent exited
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
