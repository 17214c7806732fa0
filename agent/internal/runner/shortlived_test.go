package runner_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/childtest"
	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/runner"
	"github.com/proctag/proctag/agent/internal/runner/runnertest"
	"github.com/proctag/proctag/agent/snapshot"
)

// helperEnv selects what a re-executed test binary does instead of the
// tests: see TestMain.
const helperEnv = "PROCTAG_RUNNER_HELPER"

// TestMain turns the test binary into a helper process when helperEnv is
// set: "short" lives 100 ms; "accept" listens on 127.0.0.1, prints its
// port and accepts until stdin closes, closing each connection when the
// peer does; "dial PORT N" makes N connections of 20 ms each, one after
// the other, and prints "done"; "run CONFIG" runs the agent with the
// config file CONFIG, logging JSON lines on stderr, prints its NATS URL
// and stops when stdin closes.
func TestMain(m *testing.M) {
	switch args := strings.Fields(os.Getenv(helperEnv)); {
	case len(args) == 0:
		os.Exit(m.Run())
	case args[0] == "short":
		time.Sleep(100 * time.Millisecond)
	case args[0] == "accept":
		acceptHelper()
	case args[0] == "run" && len(args) == 2:
		runHelper(args[1])
	case args[0] == "dial" && len(args) == 3:
		n, _ := strconv.Atoi(args[2])
		for range n {
			c, err := net.Dial("tcp", "127.0.0.1:"+args[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			time.Sleep(20 * time.Millisecond)
			c.Close()
		}
		fmt.Println("done")
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", args)
		os.Exit(2)
	}
	os.Exit(0)
}

func runHelper(path string) {
	cfg, _, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	logger := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	err = runner.Run(ctx, cfg, runner.Options{Version: "test", Ready: func(url string) { fmt.Println(url) }}, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func acceptHelper() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}()
	}
}

// helper starts the test binary as helper process args, with marker in
// its argv for the rules, and returns it with its stdout.
func helper(t *testing.T, marker, args string) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	return helperAs(t, os.Args[0], nil, os.Stderr, marker, args)
}

// helperAs is helper with the test binary at bin, run with cred (nil: the
// test's own), its stderr to stderr and env added to its environment.
func helperAs(t *testing.T, bin string, cred *syscall.Credential, stderr io.Writer, marker, args string, env ...string) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$", marker)
	cmd.Env = append(append(os.Environ(), helperEnv+"="+args), env...)
	cmd.Stderr = stderr
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, in, err := childtest.Start(t, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, out, in
}

// needSources skips the test when this host does not open the named
// event sources (not root, an old kernel): the machine kind CI runs on
// opens them all.
func needSources(t *testing.T, names ...string) {
	t.Helper()
	for _, s := range runner.ProbeSources(t.Context()) {
		for _, n := range names {
			if s.Name == n && !s.Available {
				t.Skip(n + " does not open here: " + s.Why)
			}
		}
	}
}

const shortConfig = `
os-proc-sync-enabled: true
os-proc-socket-sync-interval: 10
os-proc-socket-min-lifetime: 0
host-id: HOST
nats:
  embedded:
    listen: 127.0.0.1:0
os-proc-regex:
  - match-type: cmdline
    match-regex: .* proctag-(\w+)-marker$
    rewrite-name: $1
  - action: drop
`

// startShort runs the agent with shortConfig for host and follows it.
func startShort(t *testing.T, host string) <-chan snapshot.Change {
	t.Helper()
	path := filepath.Join(t.TempDir(), "proctag.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(shortConfig, "HOST", host)), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := runnertest.Follow(t, runnertest.Start(t, path, nil), host)
	runnertest.Wait(t, sub, host, "a first state", func(*snapshot.Snapshot) bool { return true })
	return sub.Changes()
}

// TestShortLivedProcess starts a process that lives 100 ms, well inside
// the 10 s interval: the process connector's exec event has it read at
// once, and the tick its exit wakes publishes it with the name the rules
// gave it and its exit time.
func TestShortLivedProcess(t *testing.T) {
	needSources(t, runner.SourceProcConnector)
	changes := startShort(t, "short-process")
	cmd, _, _ := helper(t, "proctag-brief-marker", "short")
	pid := cmd.Process.Pid
	deadline := time.After(runnertest.Timeout)
	for {
		select {
		case c := <-changes:
			if c.State == nil {
				continue
			}
			for _, p := range c.State.Processes {
				if p.PID == pid && p.Name == "brief" {
					if p.Exited != 0 && p.Exited < p.StartTime {
						t.Errorf("exited %d before its start %d", p.Exited, p.StartTime)
					}
					t.Logf("published as %q, exited=%d", p.Name, p.Exited)
					return
				}
			}
		case <-deadline:
			t.Fatalf("the 100 ms process %d was never published", pid)
		}
	}
}

// TestShortConnections has one helper process accept and another dial
// 200 loopback connections of 20 ms each, opened and closed between two
// ticks of a 10 s interval (but for the few that a tick's socket read
// finds established, which are published as sockets): each end must be
// published, in closed or as a socket, the client end with the dialler's
// pid (and in closed its name), the server end with the acceptor's, for
// at least 99 % of them.
func TestShortConnections(t *testing.T) {
	needSources(t, runner.SourceEBPF)
	changes := startShort(t, "short-conns")
	acc, dial, port, n := shortConns(t, os.Args[0], nil, func(int, int) {})
	// The ends seen, by the dialler's local port.
	client := make(map[uint16]bool)
	server := make(map[uint16]bool)
	both := func() int {
		k := 0
		for p := range client {
			if server[p] {
				k++
			}
		}
		return k
	}
	// lost is the agent's count of kernel TCP events its sources lost
	// (the heartbeats' events_lost): a connection whose events the kernel
	// dropped or skipped cannot be published, and is no fault of the agent.
	var lost uint64
	deadline := time.After(runnertest.Timeout)
	for both() < n {
		select {
		case c := <-changes:
			if c.Stats != nil {
				lost = max(lost, c.Stats.EventsLost)
			}
			if c.State == nil {
				continue
			}
			for _, e := range c.State.Closed {
				switch {
				case e.Role == "client" && e.PID == dial.Process.Pid && e.Name == "dialler" && int(e.RemotePort) == port:
					client[e.LocalPort] = true
				case e.Role == "server" && e.PID == acc.Process.Pid && e.Name == "acceptor" && int(e.LocalPort) == port:
					server[e.RemotePort] = true
				}
				if e.Closed < e.Opened {
					t.Errorf("connection %+v closed before it opened", e)
				}
			}
			liveEnds(c.State, port, dial.Process.Pid, acc.Process.Pid, client, server)
		case <-deadline:
			if got := both(); got*100 < 99*n && uint64(n-got) > lost {
				t.Fatalf("%d of %d short connections published with both pids (client ends %d, server ends %d), want at least 99%%, or all but those the %d kernel events the agent lost account for",
					got, n, len(client), len(server), lost)
			}
			t.Logf("%d of %d short connections published with both pids, %d kernel events lost", both(), n, lost)
			return
		}
	}
	t.Logf("all %d short connections published with both pids", n)
}

// liveEnds records the ends of the dialler's connections that s publishes
// as established sockets, by the dialler's port.
func liveEnds(s *snapshot.Snapshot, port, dialler, acceptor int, client, server map[uint16]bool) {
	for _, k := range s.Sockets {
		switch {
		case k.State != "ESTABLISHED":
		case int(k.RemotePort) == port && slices.Contains(k.PIDs, dialler):
			client[k.LocalPort] = true
		case int(k.LocalPort) == port && slices.Contains(k.PIDs, acceptor):
			server[k.RemotePort] = true
		}
	}
}

// shortConns starts the test binary at bin, with cred, as an acceptor,
// calls listening with its pid and port, then starts it as a dialler of
// 200 connections of 20 ms each to it, and returns both once the dialler
// is done, with the listener's port and the count.
func shortConns(t *testing.T, bin string, cred *syscall.Credential, listening func(pid, port int)) (acc, dial *exec.Cmd, port, n int) {
	t.Helper()
	acc, accOut, _ := helperAs(t, bin, cred, os.Stderr, "proctag-acceptor-marker", "accept")
	line, err := accOut.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	port, err = strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	listening(acc.Process.Pid, port)
	n = 200
	dial, dialOut, _ := helperAs(t, bin, cred, os.Stderr, "proctag-dialler-marker", fmt.Sprintf("dial %d %d", port, n))
	if line, err := dialOut.ReadString('\n'); err != nil || line != "done\n" {
		t.Fatalf("dialler: %q, %v", line, err)
	}
	return acc, dial, port, n
}
