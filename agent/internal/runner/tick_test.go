package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/metrics"
	"github.com/proctag/proctag/agent/internal/publish"
)

// tagScript writes an os-app-tag-exec script that tags pid 812, readable
// by nobody (the user it runs as when the test runs as root), and returns
// the user to run it as.
func tagScript(t *testing.T) (argv []string, user string) {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tags.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho '- pid: 812'\necho '  tags: [{key: team, value: a}]'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		return []string{path}, "nobody"
	}
	return []string{path}, "" // not root: the command runs as the current user
}

// TestTickMetrics runs ticks of the agent's loop on a fake /proc tree and
// checks the metrics they leave: one step series per step that ran, a
// count per tick, durations above zero, no errors, and a tick that lasts
// at least as long as its scan.
// testLoop builds the parts of cfg and a loop around them whose
// publisher never runs (ticks hand it states that stay unpublished).
func testLoop(t *testing.T, cfg *config.Config) (*loop, *Parts) {
	t.Helper()
	logger := hclog.NewNullLogger()
	pub, err := publish.New(publish.Config{URL: "nats://127.0.0.1:1", HostID: cfg.HostID}, logger)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := Build(t.Context(), cfg, logger, "test", pub.Epoch())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parts.Close(t.Context()) })
	return &loop{cfg: cfg, logger: logger, pub: pub, metrics: metrics.New(), epoch: pub.Epoch(), hostID: cfg.HostID}, parts
}

func TestTickMetrics(t *testing.T) {
	root := t.TempDir()
	if _, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", root, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.ProcRoot, cfg.MinLifetime, cfg.HostID = root, 0, "metrics-host"
	cfg.TagExec, cfg.TagExecUser = tagScript(t)
	l, parts := testLoop(t, &cfg)
	mc := l.metrics

	const ticks = 3
	for range ticks {
		l.tick(t.Context(), parts, tickPlan{})
	}
	if l.lastErr != "" {
		t.Fatalf("tick failed: %s", l.lastErr)
	}
	if err := testutil.CollectAndCompare(mc, strings.NewReader(`
# HELP proctag_step_errors_total Steps that failed, by step.
# TYPE proctag_step_errors_total counter
proctag_step_errors_total{step="rules"} 0
proctag_step_errors_total{step="scan"} 0
proctag_step_errors_total{step="sockets"} 0
proctag_step_errors_total{step="tags"} 0
# HELP proctag_ticks_total Ticks run since the agent started.
# TYPE proctag_ticks_total counter
proctag_ticks_total 3
`), "proctag_step_errors_total", "proctag_ticks_total"); err != nil {
		t.Fatal(err)
	}
	got := gather(t, mc)
	for _, step := range []string{"scan", "tags", "rules", "sockets"} {
		t.Run(step, func(t *testing.T) {
			h, ok := got.steps[step]
			if !ok {
				t.Fatalf("no proctag_step_duration_seconds series of step %s", step)
			}
			if h.count != ticks || h.sum <= 0 {
				t.Errorf("step %s: %d observations summing to %vs, want %d above zero", step, h.count, h.sum, ticks)
			}
		})
	}
	if got.scan <= 0 || got.tick < got.scan {
		t.Errorf("scan_duration_seconds %v, tick_duration_seconds %v: want a scan above zero within the tick", got.scan, got.tick)
	}
	if n := testutil.CollectAndCount(mc, "proctag_processes"); n != 1 {
		t.Errorf("%d proctag_processes series, want 1", n)
	}
}

// stepHistogram is one step's series: its count and sum.
type stepHistogram struct {
	count uint64
	sum   float64
}

// gathered are the step series and the two duration gauges of a Collector.
type gathered struct {
	steps      map[string]stepHistogram
	scan, tick float64
}

// gather reads the step series and duration gauges c exports.
func gather(t *testing.T, c prometheus.Collector) gathered {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	g := gathered{steps: map[string]stepHistogram{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "proctag_step_duration_seconds":
				for _, l := range m.GetLabel() {
					if l.GetName() == "step" {
						g.steps[l.GetValue()] = stepHistogram{m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()}
					}
				}
			case "proctag_scan_duration_seconds":
				g.scan = m.GetGauge().GetValue()
			case "proctag_tick_duration_seconds":
				g.tick = m.GetGauge().GetValue()
			}
		}
	}
	return g
}
