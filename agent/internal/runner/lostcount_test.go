package runner

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestEventsLostDip: plan.tcpLost is Tracker.Lost() as the plan saw it,
// which is not monotonic: it reads 0 for the ring's drops when the
// per-CPU map lookup fails and leaves out the recursion misses of a program
// whose Stats fails. The tcp source and the destroy reader are opened once
// for the whole run (reloads keep them), so a reading below the last is
// never a new source: events_lost must not count the same losses twice.
func TestEventsLostDip(t *testing.T) {
	root := t.TempDir()
	if _, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", root, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		readings []uint64 // Tracker.Lost() at each tick's plan
		want     uint64
	}{
		{"monotonic", []uint64{0, 40, 100, 100}, 100},
		{"map lookup fails once", []uint64{100, 0, 100}, 100},
		{"misses left out once", []uint64{100, 60, 100}, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.ProcRoot, cfg.MinLifetime, cfg.HostID = root, 0, "lost-host"
			l, parts := testLoop(t, &cfg)
			for _, n := range tt.readings {
				l.tick(t.Context(), parts, tickPlan{tcpLost: n})
			}
			if l.lastErr != "" {
				t.Fatal(l.lastErr)
			}
			metric := lostMetric(t, l)
			if l.eventsLost != tt.want || metric != float64(tt.want) {
				t.Errorf("Lost() read %v: events_lost %d, proctag_events_lost_total %v, want %d", tt.readings, l.eventsLost, metric, tt.want)
			}
		})
	}
}

// lostMetric returns proctag_events_lost_total as l's metrics export it.
func lostMetric(t *testing.T, l *loop) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(l.metrics)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "proctag_events_lost_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no proctag_events_lost_total")
	return 0
}
