package runner

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/config"
)

// TestStartSources checks the start line of each os-proc-events mode on
// this host (the real probe), and that on refuses to start when a source
// cannot be opened. The kernel cannot be made to refuse sock_diag or the
// process connector from inside a test, so that case gets a probe
// reporting one unavailable.
func TestStartSources(t *testing.T) {
	probed := ProbeSources(t.Context())
	all := true
	for _, s := range probed {
		all = all && s.Available
	}
	run := func(mode, root string, probe func() []SourceStatus) (string, error) {
		var buf bytes.Buffer
		logger := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info})
		cfg := config.Default()
		cfg.File, cfg.ProcEvents, cfg.ProcRoot = "proctag.yaml", mode, root
		p := ProbeSources
		if probe != nil {
			p = func(context.Context) []SourceStatus { return probe() }
		}
		_, err := startSources(t.Context(), &cfg, p, logger)
		return buf.String(), err
	}
	t.Run("auto", func(t *testing.T) {
		out, err := run(config.ProcEventsAuto, "/proc", nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(out, "\n") != 1 || !strings.Contains(out, "[INFO]  event sources: os_proc_events=auto") {
			t.Fatalf("want one INFO line, got:\n%s", out)
		}
		for _, s := range probed {
			want := active[s.Name]
			if !s.Available {
				want = "not available, " + fallback[s.Name] + ": " + s.Why
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s: the line does not say %q:\n%s", s.Name, want, out)
			}
		}
	})
	t.Run("auto on a fake tree", func(t *testing.T) {
		out, err := run(config.ProcEventsAuto, t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if probed[0].Available && !strings.Contains(out, "is not a procfs mount") {
			t.Errorf("sock_diag on a fake tree not said unused:\n%s", out)
		}
	})
	t.Run("off", func(t *testing.T) {
		out, err := run(config.ProcEventsOff, "/proc", func() []SourceStatus { t.Error("off probed the sources"); return nil })
		if err != nil || !strings.Contains(out, "off (os-proc-events: off)") {
			t.Errorf("off: %v\n%s", err, out)
		}
	})
	t.Run("on", func(t *testing.T) {
		_, err := run(config.ProcEventsOn, "/proc", nil)
		if all != (err == nil) {
			t.Errorf("on with sources %v: error %v", probed, err)
		}
	})
	t.Run("on without the process connector", func(t *testing.T) {
		_, err := run(config.ProcEventsOn, "/proc", func() []SourceStatus {
			return []SourceStatus{{Name: SourceSockDiag, Available: true}, {Name: SourceProcConnector, Why: "open process connector: operation not permitted"}, {Name: SourceEBPF, Available: true}}
		})
		if err == nil {
			t.Fatal("on started without the process connector")
		}
		for _, want := range []string{"proctag.yaml", "os-proc-events: on", "process connector: open process connector: operation not permitted", "os-proc-events: auto"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
}
