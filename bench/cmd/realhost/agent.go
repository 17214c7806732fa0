package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// hostID is the host-id the measured agents publish under.
const hostID = "realhost"

// errAgentExited is wrapped by the errors of an agent that exited on its
// own.
var errAgentExited = errors.New("the agent exited")

// agent is one `proctag run` process with its embedded NATS server on a
// free loopback port. Its methods are for one goroutine.
type agent struct {
	// mode is its os-proc-events value.
	mode    string
	pid     int
	natsURL string
	logPath string
	cmd     *exec.Cmd
	// exited is closed once the process was waited for; err is Wait's
	// error.
	exited chan struct{}
	err    error
}

// The measured agents' periods of full re-reads, the agent's defaults
// written out: polling (and events mode without healthy sources) re-reads
// everything every fullRescanEvery ticks, events mode with both sources
// healthy every eventsFullRescanEvery ticks. The idle window holds whole
// periods of the latter (see idleWindow).
const (
	fullRescanEvery       = 6
	eventsFullRescanEvery = 60
)

// agentConfig is the YAML config of a measured agent.
// procRoot is os-proc-root, "" for /proc.
func agentConfig(mode string, interval, minLifetime time.Duration, natsListen, procRoot string) string {
	root := ""
	if procRoot != "" {
		root = fmt.Sprintf("os-proc-root: %q\n", procRoot)
	}
	return root + fmt.Sprintf(`os-proc-sync-enabled: true
os-proc-socket-sync-interval: %d
os-proc-socket-min-lifetime: %d
os-proc-events: %s
full-rescan-every: %d
events-full-rescan-every: %d
host-id: %s
log-level: info
metrics-listen: ""
nats:
  embedded:
    listen: %q
`, int(interval.Seconds()), int(minLifetime.Seconds()), mode, fullRescanEvery, eventsFullRescanEvery, hostID, natsListen)
}

// startAgent runs `bin run` with os-proc-events mode under g, its config
// and log in dir, reading procRoot ("" for /proc), and waits until its NATS
// server accepts connections.
func startAgent(ctx context.Context, g *groups, bin, dir, mode string, interval, minLifetime time.Duration, procRoot string) (*agent, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("agent-%s-min%d-every%d", mode, int(minLifetime.Seconds()), int(interval.Seconds()))
	if procRoot != "" {
		name += "-tree"
	}
	cfg := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(cfg, []byte(agentConfig(mode, interval, minLifetime, addr, procRoot)), 0o644); err != nil {
		return nil, err
	}
	a := &agent{mode: mode, natsURL: "nats://" + addr, logPath: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(a.logPath)
	if err != nil {
		return nil, err
	}
	a.cmd = exec.Command(bin, "run", "--config", cfg)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := g.start(a.cmd); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s run: %w", bin, err)
	}
	a.pid = a.cmd.Process.Pid
	go func() {
		a.err = a.cmd.Wait()
		logf.Close()
		g.done(a.pid)
		close(a.exited)
	}()
	if err := a.waitListening(ctx, addr, time.Minute); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// waitListening polls addr until it accepts a connection, the agent
// exits, or timeout passes.
func (a *agent) waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the agent's NATS server not listening on %s after %v", addr, timeout)
		}
		select {
		case <-a.exited:
			return a.exitError()
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// alive returns the agent's exit as an error once it exited.
func (a *agent) alive() error {
	select {
	case <-a.exited:
		return a.exitError()
	default:
		return nil
	}
}

// exitError describes the agent's exit with the end of its log.
func (a *agent) exitError() error {
	return fmt.Errorf("%w (os-proc-events: %s): %v; log: %s", errAgentExited, a.mode, a.err, logTail(a.logPath, 2))
}

// stop asks the agent to stop (SIGTERM) and waits up to 30 s, then kills
// its group.
func (a *agent) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
		return
	case <-time.After(30 * time.Second):
	}
	_ = syscall.Kill(-a.pid, syscall.SIGKILL)
	<-a.exited
}

// logTail returns the last n non-empty lines of the file at path, each
// cut to 240 bytes, joined by " | ".
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(string(bytes.TrimSpace(b)), "\n")
	lines = lines[max(len(lines)-n, 0):]
	for i, l := range lines {
		if len(l) > 240 {
			lines[i] = l[:240] + "…"
		}
	}
	return strings.Join(lines, " | ")
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
