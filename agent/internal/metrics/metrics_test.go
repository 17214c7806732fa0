package metrics

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// observed is a Collector after one tick, its publisher's counters and two
// plugins.
func observed() *Collector {
	c := New()
	c.ObserveTick(Tick{
		Steps: []Step{
			{Name: "scan", Duration: 250 * time.Millisecond, OK: true},
			{Name: "tags", Duration: time.Millisecond, OK: false},
			{Name: "rules", Duration: time.Millisecond, OK: true},
			{Name: "sockets", Duration: 20 * time.Millisecond, OK: true},
		},
		Duration: 300 * time.Millisecond, Processes: 42, ProcessesSeen: 50, Sockets: 7,
		TablesSockDiag: 8, TablesProcNet: 4, Woken: true, EventsLost: 9,
	})
	c.ObserveStep(Step{Name: "publish", Duration: 2 * time.Millisecond, OK: true})
	c.ObservePublisher(Publisher{Bytes: 1000, Messages: 3, Errors: 1})
	c.ObservePlugins([]PluginSample{
		{Plugin: "static-tags", Loaded: true, Calls: 5, CallSeconds: 0.5, Instances: 2},
		{Plugin: "evil", Tenant: "payments", BreakerOpen: true, Faults: map[string]uint64{"timeout": 3, "grant": 1}},
	})
	return c
}

func TestServeExposesObservedStats(t *testing.T) {
	c := observed()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.serve(ctx, ln, hclog.NewNullLogger()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"proctag_scan_duration_seconds 0.25\n",
		"proctag_tick_duration_seconds 0.3\n",
		"proctag_processes 42\n",
		"proctag_processes_seen 50\n",
		"proctag_sockets 7\n",
		"proctag_ticks_total 1\n",
		"proctag_ticks_woken_total 1\n",
		"proctag_events_lost_total 9\n",
		`proctag_socket_tables_read_total{source="sock_diag"} 8` + "\n",
		`proctag_socket_tables_read_total{source="proc"} 4` + "\n",
		`proctag_step_duration_seconds_count{step="scan"} 1` + "\n",
		`proctag_step_duration_seconds_sum{step="scan"} 0.25` + "\n",
		`proctag_step_duration_seconds_count{step="publish"} 1` + "\n",
		`proctag_step_errors_total{step="scan"} 0` + "\n",
		`proctag_step_errors_total{step="tags"} 1` + "\n",
		"proctag_plugin_calls_total 5\n",
		"proctag_plugin_faults_total 4\n",
		"proctag_published_bytes_total 1000\n",
		"proctag_published_messages_total 3\n",
		"proctag_publish_errors_total 1\n",
		`proctag_wasm_plugin_calls_total{plugin="static-tags",tenant=""} 5` + "\n",
		`proctag_wasm_plugin_call_seconds_total{plugin="static-tags",tenant=""} 0.5` + "\n",
		`proctag_wasm_plugin_loaded{plugin="static-tags",tenant=""} 1` + "\n",
		`proctag_wasm_plugin_instances{plugin="static-tags",tenant=""} 2` + "\n",
		`proctag_wasm_plugin_faults_total{kind="timeout",plugin="evil",tenant="payments"} 3` + "\n",
		`proctag_wasm_plugin_faults_total{kind="grant",plugin="evil",tenant="payments"} 1` + "\n",
		`proctag_wasm_plugin_breaker_open{plugin="evil",tenant="payments"} 1` + "\n",
		"go_goroutines ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestNothingBeforeFirstTick(t *testing.T) {
	c := New()
	c.ObservePublisher(Publisher{Messages: 1})
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Fatalf("collected %d metrics before any tick, want 0", n)
	}
	c.ObserveTick(Tick{})
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP proctag_ticks_total Ticks run since the agent started.
# TYPE proctag_ticks_total counter
proctag_ticks_total 1
`), "proctag_ticks_total"); err != nil {
		t.Fatal(err)
	}
}

// TestStepSeries checks the step series over several observations: counts
// add up per step, sums are the durations, errors count the failed ones.
func TestStepSeries(t *testing.T) {
	c := New()
	steps := []Step{
		{Name: "scan", Duration: 10 * time.Millisecond, OK: true},
		{Name: "sockets", Duration: 30 * time.Millisecond, OK: false},
		{Name: "scan", Duration: 20 * time.Millisecond, OK: false},
	}
	c.ObserveTick(Tick{Steps: steps[:2]})
	c.ObserveSteps(steps[2:]) // a tick whose scan failed
	tests := []struct {
		step       string
		count      uint64
		sum        float64
		errorCount float64
	}{
		{"scan", 2, 0.03, 1},
		{"sockets", 1, 0.03, 1},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			count, sum := stepHistogram(t, c, tt.step)
			if count != tt.count || math.Abs(sum-tt.sum) > 1e-9 {
				t.Errorf("count %d sum %v, want %d and %v", count, sum, tt.count, tt.sum)
			}
			if got := testutil.ToFloat64(c.stepErrors.WithLabelValues(tt.step)); got != tt.errorCount {
				t.Errorf("errors %v, want %v", got, tt.errorCount)
			}
		})
	}
	if got := testutil.ToFloat64(c.scanSeconds); got != 0.01 {
		t.Errorf("scan_duration_seconds %v, want the last successful tick's scan (0.01)", got)
	}
}

// stepHistogram returns the sample count and sum of c's
// proctag_step_duration_seconds series of step.
func stepHistogram(t *testing.T, c prometheus.Collector, step string) (count uint64, sum float64) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "proctag_step_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "step" && l.GetValue() == step {
					return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	t.Fatalf("no proctag_step_duration_seconds series of step %q", step)
	return 0, 0
}
