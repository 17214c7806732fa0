package main

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestRunPublishesLiveProcesses runs the agent on the embedded server (on a
// random port) against the real /proc. A subscriber sees a spawned process
// appear with its rule-given name and its connection, then disappear through
// a delta when it exits.
func TestRunPublishesLiveProcesses(t *testing.T) {
	path := writeFile(t, "run.yaml", `
os-proc-sync-enabled: true
os-proc-socket-sync-interval: 1
os-proc-socket-min-lifetime: 0
host-id: e2e-host
nats:
  embedded:
    listen: 127.0.0.1:0
os-proc-regex:
  - match-regex: ^proctag-e2e-client$
    rewrite-name: e2e-worker
  - match-regex: ^proctag-e2e-server$
  - match-regex: ""
    action: drop
`)
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runner.Run(ctx, cfg, runner.Options{Version: "test", Ready: func(u string) { urls <- u }}, hclog.NewNullLogger())
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
		t.Fatalf("run ended before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("agent not ready within 30s")
	}

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := natssub.New(nc, natssub.Config{HostID: "e2e-host"}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(ctx)
	sdone := make(chan error, 1)
	go func() { sdone <- sub.Run(sctx) }()
	t.Cleanup(func() { scancel(); <-sdone })

	srvCtx, stopServer := context.WithCancel(t.Context())
	server, client, port := startServerCtx(t, srvCtx)
	waitState(t, sub, "the spawned processes and their connection", func(s *snapshot.Snapshot) bool {
		var named, conn bool
		for _, p := range s.Processes {
			if p.PID == client && p.Name == "e2e-worker" && p.PPID == server {
				named = true
			}
		}
		for _, so := range s.Sockets {
			if so.RemotePort == uint16(port) && so.State == "ESTABLISHED" && pidsAre(so.PIDs, client) && so.Role == "client" {
				conn = true
			}
		}
		return named && conn
	})
	// A late joiner: `proctag watch --once` asks for the state and prints it
	// in the shape of `proctag scan`.
	out, err := execute(t, "watch", "--server", url, "--host", "e2e-host", "--once", "--format", "json")
	if err != nil {
		t.Fatalf("watch --once: %v", err)
	}
	var watched snapshot.Snapshot
	if err := json.Unmarshal([]byte(out), &watched); err != nil {
		t.Fatalf("watch --once output is not one snapshot: %v\n%s", err, out)
	}
	if watched.Host.HostID != "e2e-host" || !hasPID(watched.Processes, client) {
		t.Errorf("watch --once printed host %q with %d processes, want e2e-host with pid %d", watched.Host.HostID, len(watched.Processes), client)
	}
	stopServer()
	waitState(t, sub, "the exited processes removed", func(s *snapshot.Snapshot) bool {
		for _, p := range s.Processes {
			if p.PID == client || p.PID == server {
				return false
			}
		}
		return true
	})
	if info, ok := sub.Info("e2e-host"); !ok || !info.Synced || info.Seq < 2 {
		t.Errorf("subscriber info = %+v, want in sync after several messages", info)
	}
}

func hasPID(ps []snapshot.Process, pid int) bool {
	for _, p := range ps {
		if p.PID == pid {
			return true
		}
	}
	return false
}

// startServerCtx is startServer whose processes end when ctx is done.
func startServerCtx(t *testing.T, ctx context.Context) (server, client, port int) {
	t.Helper()
	server, client, port = startServer(t)
	go func() {
		<-ctx.Done()
		if p, err := os.FindProcess(server); err == nil {
			p.Kill()
		}
		if p, err := os.FindProcess(client); err == nil {
			p.Kill()
		}
	}()
	return server, client, port
}

// waitState waits until the host's state satisfies ok, up to 30 s.
func waitState(t *testing.T, sub *natssub.Subscriber, what string, ok func(*snapshot.Snapshot) bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if s, have := sub.State("e2e-host"); have && ok(s) {
			return
		}
		select {
		case <-sub.Changes():
		case <-deadline:
			s, _ := sub.State("e2e-host")
			t.Fatalf("no state with %s within 30s; last: %s", what, describe(s))
		}
	}
}

func describe(s *snapshot.Snapshot) string {
	if s == nil {
		return "none"
	}
	return fmt.Sprintf("%d processes %+v, %d sockets", len(s.Processes), s.Processes, len(s.Sockets))
}
