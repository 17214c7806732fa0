package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/runner/runnertest"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
)

// TestRunPublishesLiveProcesses runs the agent on the embedded server (on a
// random port) against the real /proc. A subscriber sees a spawned process
// appear with its rule-given name and its connection, then disappear through
// a delta when it exits.
func TestRunPublishesLiveProcesses(t *testing.T) {
	url, sub := runLiveAgent(t, "e2e-host")

	srvCtx, stopServer := context.WithCancel(t.Context())
	server, client, port := startServerCtx(t, srvCtx)
	runnertest.Wait(t, sub, "e2e-host", "the spawned processes and their connection", func(s *snapshot.Snapshot) bool {
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
	runnertest.Wait(t, sub, "e2e-host", "the exited processes removed", func(s *snapshot.Snapshot) bool {
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

// TestRunProfiles runs the agent with --cpu-profile and --heap-profile:
// SIGUSR1 writes the heap profile of the running agent, and its stop writes
// both; each is a gzip-compressed pprof profile with content. A profile
// that cannot be created is refused before the agent starts.
func TestRunProfiles(t *testing.T) {
	path := writeFile(t, "run.yaml", `
os-proc-sync-enabled: true
os-proc-socket-sync-interval: 1
host-id: profiles
nats:
  embedded:
    listen: 127.0.0.1:0
`)
	dir := t.TempDir()
	cpu, heap := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap.pprof")
	// This process takes SIGUSR1 too, so that one sent before the agent
	// listens for it does not end the test.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		root := newRoot()
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		root.SetArgs([]string{"run", "--config", path, "--cpu-profile", cpu, "--heap-profile", heap})
		done <- root.ExecuteContext(ctx)
	}()
	waitfor.Until(t, 30*time.Second, func() bool {
		if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(heap)
		return err == nil
	}, "a heap profile written on SIGUSR1")
	checkProfile(t, heap)
	if err := os.Remove(heap); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	checkProfile(t, cpu)
	checkProfile(t, heap)

	_, err := execute(t, "run", "--config", path, "--cpu-profile", filepath.Join(dir, "missing", "cpu.pprof"))
	if err == nil || !strings.Contains(err.Error(), "--cpu-profile") {
		t.Fatalf("run with a profile in a missing directory: %v, want an error naming --cpu-profile", err)
	}
}

// checkProfile fails t unless the file at path is a gzip stream with
// content, as pprof profiles are.
func checkProfile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || len(body) == 0 {
		t.Fatalf("%s: %d bytes of profile, error %v", path, len(body), err)
	}
}
