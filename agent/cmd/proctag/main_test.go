package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
	goldenfile "github.com/proctag/proctag/agent/internal/golden"
	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/publish"
	"github.com/proctag/proctag/agent/internal/runner/runnertest"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// TestMain doubles as the child processes of the live tests: with
// PROCTAG_E2E_ROLE set, the test binary plays that role instead of testing.
func TestMain(m *testing.M) {
	switch os.Getenv("PROCTAG_E2E_ROLE") {
	case "server":
		e2eServer()
		return
	case "client":
		e2eClient()
		return
	}
	os.Exit(m.Run())
}

// e2eServer listens on loopback, starts a client child that connects, and
// reports "ready <listen-port> <child-pid>" when the connection is accepted;
// it exits when stdin closes.
func e2eServer() {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		return
	}
	port := ln.Addr().(*net.TCPAddr).Port
	self, _ := os.Executable()
	child := exec.Command(self)
	child.Args = []string{"proctag-e2e-client", "--connect", fmt.Sprint(port)}
	child.Env = append(os.Environ(), "PROCTAG_E2E_ROLE=client", fmt.Sprintf("PROCTAG_E2E_PORT=%d", port))
	stdin, _ := child.StdinPipe()
	if err := child.Start(); err != nil {
		fmt.Println("error", err)
		return
	}
	conn, err := ln.Accept()
	if err != nil {
		fmt.Println("error", err)
		return
	}
	fmt.Printf("ready %d %d\n", port, child.Process.Pid)
	io.Copy(io.Discard, os.Stdin)
	conn.Close()
	stdin.Close()
	child.Wait()
}

func e2eClient() {
	conn, err := net.Dial("tcp4", "127.0.0.1:"+os.Getenv("PROCTAG_E2E_PORT"))
	if err != nil {
		os.Exit(1)
	}
	io.Copy(io.Discard, os.Stdin)
	conn.Close()
}

// execute runs the CLI in process and returns its stdout.
func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

// startNATS starts an in-process NATS server on a random loopback port,
// shut down when the test ends.
func startNATS(t *testing.T) *natsembed.Server {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// publishState runs a publisher for s's host that submits s every
// interval, as the agent's tick loop does, until the test ends.
func publishState(t *testing.T, url string, s *snapshot.Snapshot, interval time.Duration) {
	t.Helper()
	p, err := publish.New(publish.Config{URL: url, HostID: s.Host.HostID, Interval: interval}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- p.Run(ctx) }()
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for scan := 1; ; scan++ {
			next := *s
			next.Host.ScanTime = time.Unix(int64(scan), 0)
			p.Submit(&next, snapshot.Stats{})
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("agent %s: %v", s.Host.HostID, err)
			}
		}
	})
}

// runLiveAgent runs the agent as host on this machine's /proc and its
// embedded server (on a random port), with rules that keep only the
// spawned e2e processes and name the client e2e-worker, and follows host.
// It returns the server's URL and the subscriber.
func runLiveAgent(t *testing.T, host string) (string, *natssub.Subscriber) {
	t.Helper()
	path := writeFile(t, "run.yaml", `
os-proc-sync-enabled: true
os-proc-socket-sync-interval: 1
os-proc-socket-min-lifetime: 0
host-id: `+host+`
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
	url := runnertest.Start(t, path, nil)
	return url, runnertest.Follow(t, url, host)
}

// TestScanGeneratedTree runs `proctag scan` on the basic fake tree with the
// demo rules and compares the whole JSON output with a golden file.
func TestScanGeneratedTree(t *testing.T) {
	// Booted a day ago, so that every process is older than min-lifetime.
	dir := t.TempDir()
	tree, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", dir, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out, err := execute(t, "scan", "--config", "testdata/rules.yaml", "--proc-root", dir, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "scan-basic.json.golden", normalizeScan(t, out, tree.BootTime))
}

// normalizeScan parses the JSON output of `proctag scan` on a fake tree
// booted at bootTime (seconds since the epoch), checks what depends on the
// machine or the clock, fixes it, and returns the snapshot indented for a
// golden file.
func normalizeScan(t *testing.T, out string, bootTime int64) []byte {
	t.Helper()
	var snap snapshot.Snapshot
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatalf("scan output is not a snapshot: %v\n%s", err, out)
	}
	// What depends on the machine or the clock is checked, then fixed.
	if snap.Host.ScanTime.IsZero() || snap.Host.HostID == "" {
		t.Errorf("host lacks scan_time or host_id: %+v", snap.Host)
	}
	snap.Host = snapshot.Host{}
	for i := range snap.Processes {
		p := &snap.Processes[i]
		if p.UID == 0 && p.User != "root" {
			t.Errorf("pid %d: uid 0 is user %q, want root", p.PID, p.User)
		}
		p.User = ""
		p.StartTime -= bootTime * 1000
	}
	got, _ := json.MarshalIndent(&snap, "", "  ")
	return append(got, '\n')
}
