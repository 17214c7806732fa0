package runner_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/runner/runnertest"
	"github.com/proctag/proctag/agent/snapshot"
)

const reloadConfig = `
os-proc-sync-enabled: true
os-proc-socket-sync-interval: 1
os-proc-socket-min-lifetime: 0
host-id: reload-host
nats:
  embedded:
    listen: 127.0.0.1:0
os-proc-regex:
  - match-regex: ^runner\.test$
    rewrite-name: NAME
  - action: drop
`

// TestReloadSwapsRulesAndRejectsBadConfig runs the agent, reloads a config
// that renames this test process, then a broken one: the agent keeps
// publishing with the last good config.
func TestReloadSwapsRulesAndRejectsBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proctag.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(replace(reloadConfig, "NAME", "before-reload"))
	reload := make(chan os.Signal, 1)
	url := runnertest.Start(t, path, reload)
	sub := runnertest.Follow(t, url, "reload-host")

	waitName := func(want string) {
		t.Helper()
		runnertest.Wait(t, sub, "reload-host", "this process named "+want, func(s *snapshot.Snapshot) bool {
			for _, p := range s.Processes {
				if p.PID == os.Getpid() && p.Name == want {
					return true
				}
			}
			return false
		})
	}
	waitName("before-reload")

	write(replace(reloadConfig, "NAME", "after-reload"))
	reload <- os.Interrupt
	waitName("after-reload")

	write("os-proc-sync-enabled: [not, a, bool]\n")
	reload <- os.Interrupt
	// The broken config is rejected: ticks go on under the last good one
	// (a heartbeat or delta with a later scan time arrives).
	rejected := time.Now()
	deadline := time.After(30 * time.Second)
	for {
		if i, _ := sub.Info("reload-host"); i.LastScan.After(rejected.Add(time.Second)) {
			break
		}
		select {
		case <-sub.Changes():
		case <-deadline:
			t.Fatal("the agent stopped publishing after a bad reload")
		}
	}
	waitName("after-reload")

	// Heartbeats carry the agent's RSS (WIRE.md, heartbeat body).
	deadline = time.After(30 * time.Second)
	for {
		if i, _ := sub.Info("reload-host"); i.Stats != nil && i.Stats.RSSBytes > 0 {
			break
		}
		select {
		case <-sub.Changes():
		case <-deadline:
			i, _ := sub.Info("reload-host")
			t.Fatalf("no heartbeat with rss_bytes; last stats %+v", i.Stats)
		}
	}
}

func replace(s, old, new string) string { return strings.ReplaceAll(s, old, new) }
