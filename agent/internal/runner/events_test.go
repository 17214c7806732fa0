package runner_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/runner"
	"github.com/proctag/proctag/agent/internal/runner/runnertest"
	"github.com/proctag/proctag/agent/snapshot"
)

const eventsConfig = `
os-proc-sync-enabled: true
os-proc-socket-sync-interval: 10
os-proc-socket-min-lifetime: MIN
host-id: HOST
nats:
  embedded:
    listen: 127.0.0.1:0
os-proc-regex:
  - match-type: cmdline
    match-regex: ^sleep 4321\.5$
    rewrite-name: event-child
  - action: drop
`

// TestExecWakesTick runs the agent with a 10 s interval and starts a child
// process after the first state was published: the process connector's
// fork and exec events must wake a tick that publishes it long before the
// next interval, with os-proc-socket-min-lifetime 0 at once, with 2 once
// it is old enough (a wake at its start plus 2 s and a second's slack).
// The deadlines are on that condition, not waits.
func TestExecWakesTick(t *testing.T) {
	for _, s := range runner.ProbeSources(t.Context()) {
		if s.Name == runner.SourceProcConnector && !s.Available {
			t.Skip("the process connector does not open here: " + s.Why)
		}
	}
	for _, tt := range []struct {
		min      string
		deadline time.Duration
	}{{"0", 5 * time.Second}, {"2", 7 * time.Second}} {
		t.Run("min-lifetime "+tt.min, func(t *testing.T) {
			t.Parallel()
			host := "events-host-" + tt.min
			path := filepath.Join(t.TempDir(), "proctag.yaml")
			text := replace(replace(eventsConfig, "MIN", tt.min), "HOST", host)
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			sub := runnertest.Follow(t, runnertest.Start(t, path, nil), host)
			runnertest.Wait(t, sub, host, "a first state", func(*snapshot.Snapshot) bool { return true })

			cmd := exec.Command("sleep", "4321.5")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			started := time.Now()
			deadline := time.After(tt.deadline)
			for {
				if s, ok := sub.State(host); ok && published(s, cmd.Process.Pid) {
					t.Logf("published %v after its start", time.Since(started).Round(time.Millisecond))
					return
				}
				select {
				case <-sub.Changes():
				case <-deadline:
					t.Fatalf("pid %d not published within %v of its start (interval 10s): no tick woken by its exec", cmd.Process.Pid, tt.deadline)
				}
			}
		})
	}
}

// published reports whether s holds pid named event-child.
func published(s *snapshot.Snapshot, pid int) bool {
	for _, p := range s.Processes {
		if p.PID == pid && p.Name == "event-child" {
			return true
		}
	}
	return false
}
