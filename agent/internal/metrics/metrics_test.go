package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/proctag/proctag/agent/snapshot"
)

func TestServeExposesObservedStats(t *testing.T) {
	var c Collector
	c.Observe(snapshot.Stats{ScanMicros: 250000, Processes: 42, Sockets: 7, Ticks: 3, PluginFaults: 2})
	c.ObservePlugins([]PluginSample{
		{Plugin: "static-tags", Loaded: true, Calls: 5, CallSeconds: 0.5, Instances: 2},
		{Plugin: "evil", Tenant: "payments", BreakerOpen: true, Faults: map[string]uint64{"timeout": 3, "grant": 1}},
	})
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
		"proctag_processes 42\n",
		"proctag_sockets 7\n",
		"proctag_ticks_total 3\n",
		"proctag_plugin_faults_total 2\n",
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

func TestNothingBeforeFirstObserve(t *testing.T) {
	var c Collector
	ch := make(chan prometheus.Metric, len(all))
	c.Collect(ch)
	close(ch)
	if n := len(ch); n != 0 {
		t.Fatalf("collected %d metrics before any Observe, want 0", n)
	}
	c.Observe(snapshot.Stats{})
	ch = make(chan prometheus.Metric, len(all))
	c.Collect(ch)
	close(ch)
	if n := len(ch); n != len(all) {
		t.Fatalf("collected %d metrics after Observe, want %d", n, len(all))
	}
}
