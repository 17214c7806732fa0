package main

import (
	"strings"
	"testing"
	"time"
)

func TestMetricLine(t *testing.T) {
	tests := []struct {
		line, name string
		value      float64
		ok         bool
	}{
		{"go_goroutines 42", "go_goroutines", 42, true},
		{`proctag_wasm_plugin_instances{plugin="a",tenant=""} 2`, `proctag_wasm_plugin_instances{plugin="a",tenant=""}`, 2, true},
		{"process_resident_memory_bytes 6.5e+07", "process_resident_memory_bytes", 6.5e7, true},
		{"garbage", "", 0, false},
		{"name notanumber", "", 0, false},
	}
	for _, tt := range tests {
		name, v, ok := metricLine(tt.line)
		if ok != tt.ok || (ok && (name != tt.name || v != tt.value)) {
			t.Errorf("metricLine(%q) = %q, %v, %v; want %q, %v, %v", tt.line, name, v, ok, tt.name, tt.value, tt.ok)
		}
	}
}

// series makes n samples whose rss, goroutines and fds follow f(i).
func series(n int, f func(i int) float64) []sample {
	ss := make([]sample, n)
	for i := range ss {
		v := f(i)
		ss[i] = sample{at: time.Duration(i) * time.Second, rss: v * (1 << 20), goroutines: 30, fds: 20, ticks: float64(i + 1), plugins: 1, instances: 2}
	}
	return ss
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		ss   []sample
		want string // "" = passes
	}{
		{"flat memory passes", series(100, func(int) float64 { return 60 }), ""},
		{"noise within the tolerance passes", series(100, func(i int) float64 { return 60 + float64(i%7) }), ""},
		{"a steady climb fails", series(100, func(i int) float64 { return 60 + float64(i) }), "resident memory grew"},
		{"too few samples fail", series(5, func(int) float64 { return 60 }), "only 5 samples"},
	}
	stalled := series(100, func(int) float64 { return 60 })
	for i := range stalled {
		stalled[i].ticks = 1
	}
	heapClimb := series(100, func(int) float64 { return 60 })
	for i := range heapClimb {
		heapClimb[i].heap = float64(20+i) * (1 << 20)
	}
	tests = append(tests, struct {
		name string
		ss   []sample
		want string
	}{"a stalled agent fails", stalled, "stalled"}, struct {
		name string
		ss   []sample
		want string
	}{"a heap climb under flat resident memory fails", heapClimb, "Go heap in use grew"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(tt.ss)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("check = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("check = %v, want %q", err, tt.want)
			}
		})
	}
}
