package hostile

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

const (
	runHost = "hostile-run"
	// runWait bounds each wait on what the agent publishes.
	runWait = time.Minute
	// stopWait bounds the agent's exit after SIGTERM: the publisher's drain
	// (publish.Config.DrainTimeout, 10 s, plus the 5 s it waits for the
	// connection to report its close) and a margin.
	stopWait = 15*time.Second + 15*time.Second
)

// runCase is an attack run by `proctag run`, from plugin-dir.
type runCase struct {
	attack
	// hot drops the module into plugin-dir only once the agent published
	// the victim, for the hot reload to load, and stops the agent while
	// that load is still running.
	hot bool
}

// runCases: the agent must keep publishing, and stop on SIGTERM, while
// these sit in plugin-dir.
var runCases = []runCase{
	// proctag_process makes 2^48 calls without a loop.
	{attack: attack{name: "frozen", wat: "exprec-process", reasons: []string{"timeout"}}},
	// A module whose compile runs into the compile-timeout (see
	// genPhiMany), there at the start: plugin-dir is loaded before the
	// first tick.
	{attack: attack{name: "compile-bomb", gen: genPhiMany, reasons: []string{"load"}}},
	// The same module dropped in while the agent runs.
	{attack: attack{name: "hot-compile-bomb", gen: genPhiMany}, hot: true},
}

// TestRun runs `proctag run` with each of runCases beside the good plugin
// and follows the host on NATS: the victim must arrive named and tagged,
// ticks must go on, and SIGTERM must stop the agent in time.
func TestRun(t *testing.T) {
	for _, c := range runCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			acquire(t)
			runAttack(t, &c)
		})
	}
}

// runAttack is one row of TestRun.
func runAttack(t *testing.T, c *runCase) {
	pid := startVictims(t, 1)
	port := freePort(t)
	cfg := c.install(t, map[string]any{
		"host-id":                      runHost,
		"os-proc-sync-enabled":         true,
		"os-proc-socket-sync-interval": 1,
		"nats":                         map[string]any{"embedded": map[string]any{"listen": fmt.Sprintf("127.0.0.1:%d", port)}},
	})
	module := filepath.Join(filepath.Dir(cfg), "plugins", c.name+".wasm")
	if c.hot {
		if err := os.Rename(module, module+".held"); err != nil {
			t.Fatal(err)
		}
	}
	agent := startAgent(t, cfg)
	stderr := agent.stderr
	nc := connect(t, fmt.Sprintf("nats://127.0.0.1:%d", port), agent)
	var msgs atomic.Int64
	arrived := make(chan struct{}, 1)
	if _, err := nc.Subscribe("proctag.v1."+runHost+".>", func(m *nats.Msg) {
		msgs.Add(1)
		select {
		case arrived <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	sub := follow(t, nc)

	start := time.Now()
	if waitState(t, sub, stderr, func(s *snapshot.Snapshot) bool {
		p := findProcess(s, pid)
		return p != nil && p.Name == victimName && p.Tags[goodKey] == goodValue
	}) {
		t.Logf("victim named and tagged after %v", time.Since(start).Round(time.Millisecond))
		want := int64(3)
		if c.hot {
			if err := os.Rename(module+".held", module); err != nil {
				t.Fatal(err)
			}
			// Five ticks of 1 s cover the 2 s plugin-dir poll: the load
			// has started when they are in.
			want = 5
		}
		base := msgs.Load()
		deadline := time.After(runWait)
	wait:
		for msgs.Load() < base+want {
			select {
			case <-arrived:
			case <-deadline:
				t.Errorf("ticks stopped: %d messages on proctag.v1.%s.> within %v after the tagged state, want %d",
					msgs.Load()-base, runHost, runWait, want)
				break wait
			}
		}
	}

	stopAt := time.Now()
	if err := agent.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-agent.done:
		t.Logf("exited %v after SIGTERM", time.Since(stopAt).Round(time.Millisecond))
		if err != nil {
			t.Errorf("agent exit after SIGTERM: %v\nstderr:\n%s", err, head(stderr.Bytes(), 20))
		}
	case <-time.After(stopWait):
		_ = agent.cmd.Process.Kill()
		t.Errorf("not contained: still running %v after SIGTERM, killed\nstderr:\n%s", stopWait, head(stderr.Bytes(), 20))
	}
	if missing := missingReasons(stderr.Bytes(), c.name, c.reasons); c.reasons != nil && len(missing) > 0 {
		t.Errorf("no log record names plugin %s with %q", c.name, missing)
	}
}

// syncBuffer is an io.Writer safe for the exec package's copying goroutine
// and the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// runningAgent is a `proctag run` child: its log and its exit.
type runningAgent struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error // receives Wait's result once
}

// startAgent starts `proctag run --config cfg` (through the wrapper of
// agentCommand), killed (if still running) when the test ends.
func startAgent(t *testing.T, cfg string) *runningAgent {
	t.Helper()
	a := &runningAgent{stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd, report, err := agentCommand(context.Background(), "run", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { report.Close() })
	a.cmd = cmd
	a.cmd.Stderr = a.stderr
	err = a.cmd.Start()
	agentStarted(a.cmd)
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		a.done <- a.cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = a.cmd.Process.Kill()
		<-exited
	})
	return a
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// connect connects to the agent's embedded server, retrying until it
// listens, the agent exits or runWait passes.
func connect(t *testing.T, url string, agent *runningAgent) *nats.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runWait)
	defer cancel()
	connected := make(chan struct{})
	nc, err := nats.Connect(url, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond), nats.ConnectHandler(func(*nats.Conn) { close(connected) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if nc.IsConnected() {
		return nc
	}
	select {
	case <-connected:
	case err := <-agent.done:
		t.Fatalf("agent exited before its NATS server listened: %v", err)
	case <-ctx.Done():
		t.Fatalf("agent's NATS server at %s not reachable within %v", url, runWait)
	}
	return nc
}

// follow subscribes to the run host until the test ends.
func follow(t *testing.T, nc *nats.Conn) *natssub.Subscriber {
	t.Helper()
	sub, err := natssub.New(nc, natssub.Config{HostID: runHost}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return sub
}

// waitState waits until the host's state satisfies ok and reports
// whether it did; after runWait it fails the test and returns false.
func waitState(t *testing.T, sub *natssub.Subscriber, stderr *syncBuffer, ok func(*snapshot.Snapshot) bool) bool {
	t.Helper()
	deadline := time.After(runWait)
	for {
		if s, have := sub.State(runHost); have && ok(s) {
			return true
		}
		select {
		case <-sub.Changes():
		case <-deadline:
			t.Errorf("no state with the victim named %s and tagged %s=%s within %v (frozen tick?)\nstderr:\n%s",
				victimName, goodKey, goodValue, runWait, head(stderr.Bytes(), 20))
			return false
		}
	}
}
