package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/bench/report"
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

func TestParseForks(t *testing.T) {
	got, err := parseForks([]byte("cpu  1 2 3\nctxt 99\nbtime 1796235545\nprocesses 504607\nprocs_running 1\n"))
	if err != nil || got != 504607 {
		t.Errorf("got %d, %v; want 504607", got, err)
	}
	if _, err := parseForks([]byte("cpu  1 2 3\n")); err == nil {
		t.Error("no processes line: want an error")
	}
}

func TestLatencyRow(t *testing.T) {
	s := &session{mode: "on", used: "on", latencies: []time.Duration{300 * time.Millisecond, 500 * time.Millisecond}}
	r := latencyRow(s, 10*time.Second)
	if r.Value != "0.50 s" || r.Verdict != report.Met || r.Ratio != "0.05×" {
		t.Errorf("all seen: %+v", r)
	}
	s.missing = 1
	r = latencyRow(s, 10*time.Second)
	if r.Value != "not seen" || r.Verdict != report.Missed || !strings.Contains(r.Note, "2 of 3 probes seen") {
		t.Errorf("one never seen: %+v", r)
	}
	if p := report.Percentile([]time.Duration{math.MaxInt64, time.Second}, 50); p != time.Second {
		t.Errorf("an unseen probe sorts last: p50 %v", p)
	}
}

// TestIdleWindow checks that the idle window is whole periods of
// events-full-rescan-every ticks, at least one, so that the events mode's
// rare full re-reads are in it in proportion.
func TestIdleWindow(t *testing.T) {
	tests := []struct {
		name           string
		want, interval time.Duration
		window         time.Duration
		n              int
	}{
		{"default: 2 min at 2 s is one period", 2 * time.Minute, 2 * time.Second, 2 * time.Minute, 1},
		{"quick: 15 s at 1 s rounds up to one period", 15 * time.Second, time.Second, time.Minute, 1},
		{"just over one period rounds up to two", 61 * time.Second, time.Second, 2 * time.Minute, 2},
		{"at the 10 s interval one period is 10 min", 2 * time.Minute, 10 * time.Second, 10 * time.Minute, 1},
		{"zero still one period", 0, time.Second, time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, n := idleWindow(tt.want, tt.interval)
			if w != tt.window || n != tt.n {
				t.Errorf("idleWindow(%v, %v) = %v, %d; want %v, %d", tt.want, tt.interval, w, n, tt.window, tt.n)
			}
		})
	}
}

// TestIdleRowNote checks that the idle row says at which interval both
// windows ran and how many events periods the window holds.
func TestIdleRowNote(t *testing.T) {
	on := &session{mode: "on", used: "on", cpuPerMin: 300 * time.Millisecond}
	off := &session{mode: "off", used: "off", cpuPerMin: 6 * time.Second}
	tests := []struct {
		name, want string
		window     time.Duration
	}{
		{"one period", "both at a 2s interval, so that the 2m0s window holds one period of 60 ticks", 2 * time.Minute},
		{"two periods", "the 4m0s window holds 2 periods of 60 ticks", 4 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := idleRows(on, off, tt.window, 2*time.Second)[0]
			if !strings.Contains(r.Note, tt.want) || r.Verdict != report.Met {
				t.Errorf("idle row: %+v; want a met target and a note with %q", r, tt.want)
			}
		})
	}
}
