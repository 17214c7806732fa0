package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 75 ticks in the good
	// lines: 3.25 s at 100 ticks a second.
	const tail = " S 1 2 3 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 1 0 4517036 3133440 407\n"
	tests := []struct {
		name string
		line string
		want time.Duration
		err  bool
	}{
		{"plain comm", "18162 (cat)" + tail, 3250 * time.Millisecond, false},
		{"comm with spaces and parentheses", "42 (a) b (c d)" + tail, 3250 * time.Millisecond, false},
		{"no comm", "42 cat S 1 2", 0, true},
		{"truncated", "42 (cat) S 1 2 3 0 -1 4194304 100 0 0 0 250", 0, true},
		{"utime not a number", "42 (cat) S 1 2 3 0 -1 4194304 100 0 0 0 x 75 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.line))
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error: %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseHWM(t *testing.T) {
	tests := []struct {
		name, status string
		want         int64
		err          bool
	}{
		{"present", "Name:\tcat\nVmPeak:\t    8000 kB\nVmHWM:\t    1936 kB\nVmRSS:\t    1936 kB\n", 1936 << 10, false},
		{"missing", "Name:\tkthreadd\nThreads:\t1\n", 0, true},
		{"other unit", "VmHWM:\t1936 MB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHWM([]byte(tt.status))
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("got %d, %v; want %d, error: %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseForks(t *testing.T) {
	got, err := parseForks([]byte("cpu  1 2 3\nctxt 99\nbtime 1796235545\nprocesses 504607\nprocs_running 1\n"))
	if err != nil || got != 504607 {
		t.Errorf("got %d, %v; want 504607", got, err)
	}
	if _, err := parseForks([]byte("cpu  1 2 3\n")); err == nil {
		t.Error("no processes line: want an error")
	}
}

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
			if got := percentile(tt.xs, tt.p); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if twenty[0] != 20*time.Millisecond {
		t.Error("percentile sorted its argument")
	}
	if got := median(ms(5, 1, 3)); got != 3*time.Millisecond {
		t.Errorf("median %v, want 3ms", got)
	}
}

func TestWriteTable(t *testing.T) {
	rows := []row{
		{what: "cold scan", value: "1.00 s", base: "2.00 s", ratio: ratio(1, 2), target: "≤ 0.8×", verdict: check(true), note: "median of 3"},
		{what: "latency p99", value: "1.20 s", base: "10s interval", ratio: "0.12×", target: "≤ 1.00 s", verdict: check(false)},
		errorRow("churn", errTest("the agent exited")),
	}
	var b strings.Builder
	if err := writeTable(&b, rows); err != nil {
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

func TestLatencyRow(t *testing.T) {
	s := &session{mode: "on", used: "on", latencies: []time.Duration{300 * time.Millisecond, 500 * time.Millisecond}}
	r := latencyRow(s, 10*time.Second)
	if r.value != "0.50 s" || r.verdict != met || r.ratio != "0.05×" {
		t.Errorf("all seen: %+v", r)
	}
	s.missing = 1
	r = latencyRow(s, 10*time.Second)
	if r.value != "not seen" || r.verdict != missed || !strings.Contains(r.note, "2 of 3 probes seen") {
		t.Errorf("one never seen: %+v", r)
	}
	if p := percentile([]time.Duration{math.MaxInt64, time.Second}, 50); p != time.Second {
		t.Errorf("an unseen probe sorts last: p50 %v", p)
	}
}
