package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/snapshot/natssub"
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
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	reload := make(chan os.Signal, 1)
	urls := make(chan string, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Options{
			Version: "test",
			Reload:  reload,
			Load: func() (*config.Config, error) {
				c, _, err := config.Load(path)
				return c, err
			},
			Ready: func(u string) { urls <- u },
		}, hclog.NewNullLogger())
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := natssub.New(nc, natssub.Config{HostID: "reload-host"}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(ctx)
	sdone := make(chan error, 1)
	go func() { sdone <- sub.Run(sctx) }()
	t.Cleanup(func() { scancel(); <-sdone })

	waitName := func(want string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			if s, ok := sub.State("reload-host"); ok {
				for _, p := range s.Processes {
					if p.PID == os.Getpid() && p.Name == want {
						return
					}
				}
			}
			select {
			case <-sub.Changes():
			case <-deadline:
				t.Fatalf("this process never published as %q", want)
			}
		}
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
}

func replace(s, old, new string) string { return strings.ReplaceAll(s, old, new) }
