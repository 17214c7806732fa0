// Package runnertest starts a real agent (runner.Run, on an embedded NATS
// server) and a real subscriber for tests, and waits on what they publish.
// It holds no fakes: everything it starts is the production code.
package runnertest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/runner"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// Timeout bounds every wait of this package.
const Timeout = 30 * time.Second

// Start runs the agent with the config at path until the test ends and
// returns the URL of its NATS server. Values sent on reload make it re-read
// path, as SIGHUP does; reload may be nil.
func Start(t *testing.T, path string, reload <-chan os.Signal) string {
	t.Helper()
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runner.Run(ctx, cfg, runner.Options{
			Version: "test",
			Reload:  reload,
			Load: func() (*config.Config, error) {
				c, _, err := config.Load(path)
				return c, err
			},
			Ready: func(u string) { urls <- u },
		}, testLogger())
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case url := <-urls:
		return url
	case err := <-done:
		t.Fatalf("run ended before it was ready: %v", err)
	case <-time.After(Timeout):
		t.Fatalf("agent not ready within %s", Timeout)
	}
	return ""
}

// Follow subscribes to host on url until the test ends.
func Follow(t *testing.T, url, host string) *natssub.Subscriber {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := natssub.New(nc, natssub.Config{HostID: host}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return sub
}

// Wait waits until host's state satisfies ok, or fails the test after
// Timeout naming what.
func Wait(t *testing.T, sub *natssub.Subscriber, host, what string, ok func(*snapshot.Snapshot) bool) {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		if s, have := sub.State(host); have && ok(s) {
			return
		}
		select {
		case <-sub.Changes():
		case <-deadline:
			s, _ := sub.State(host)
			n := 0
			if s != nil {
				n = len(s.Processes)
			}
			t.Fatalf("host %s: no state with %s within %s (last has %d processes)", host, what, Timeout, n)
		}
	}
}

// testLogger is a null logger, or one at debug level on stderr when
// PROCTAG_TEST_LOG is set, to see what the agent of a failing test did.
func testLogger() hclog.Logger {
	if os.Getenv("PROCTAG_TEST_LOG") == "" {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Debug})
}
