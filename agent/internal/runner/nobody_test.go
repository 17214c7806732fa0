package runner_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/runner/runnertest"
	"github.com/proctag/proctag/agent/snapshot"
)

// TestAutoAsNobody runs the agent as user nobody, without capabilities,
// with os-proc-events: auto. The kernel refuses it the BPF programs, so
// the start line must say that eBPF is not available and why, and the
// agent must still publish the host's state. Without eBPF, 200 short
// connections to a listener of another process of nobody's must still be
// published by their server ends, accepted by the listener's owner (from
// the sock_diag destroy events, or as sockets when a tick found them
// established), and no client end with a wrong pid.
func TestAutoAsNobody(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run the agent as nobody")
	}
	dir, err := os.MkdirTemp("", "proctag-runner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "runner.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "proctag.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(shortConfig, "HOST", "nobody-host")), 0o644); err != nil {
		t.Fatal(err)
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	var stderr bytes.Buffer
	cmd, out, in := helperAs(t, bin, nobody, &stderr, "proctag-agent", "run "+path, "HOME="+dir)
	url, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("agent as nobody ended before it was ready: %v\n%s", err, stderr.String())
	}
	sub := runnertest.Follow(t, strings.TrimSpace(url), "nobody-host")
	runnertest.Wait(t, sub, "nobody-host", "a first state", func(*snapshot.Snapshot) bool { return true })
	// Without eBPF a short connection is tied to its listener's owner,
	// which must be known first.
	acc, dial, port, n := shortConns(t, bin, nobody, func(pid, port int) {
		runnertest.Wait(t, sub, "nobody-host", "the acceptor's listener", func(s *snapshot.Snapshot) bool {
			for _, k := range s.Sockets {
				if k.State == "LISTEN" && int(k.LocalPort) == port && slices.Contains(k.PIDs, pid) {
					return true
				}
			}
			return false
		})
	})
	server := make(map[uint16]bool)
	deadline := time.After(runnertest.Timeout)
	short := false // not all published by the deadline
wait:
	for len(server) < n {
		select {
		case c := <-sub.Changes():
			if c.State == nil {
				continue
			}
			for _, e := range c.State.Closed {
				switch {
				case e.Role == "server" && e.PID == acc.Process.Pid && e.Name == "acceptor" && int(e.LocalPort) == port:
					server[e.RemotePort] = true
				case e.PID != acc.Process.Pid:
					t.Errorf("closed connection %+v attributed to %d, not the acceptor %d (dialler %d)", e, e.PID, acc.Process.Pid, dial.Process.Pid)
				}
			}
			liveEnds(c.State, port, dial.Process.Pid, acc.Process.Pid, map[uint16]bool{}, server)
		case <-deadline:
			short = len(server)*100 < 99*n
			break wait
		}
	}
	t.Logf("%d of %d short connections published by their server end without eBPF", len(server), n)
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent as nobody: %v\n%s", err, stderr.String())
	}
	var line map[string]any
	overruns := 0.0
	for _, l := range strings.Split(stderr.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		switch msg, _ := m["@message"].(string); {
		case msg == "event sources":
			line = m
		case strings.HasPrefix(msg, "sock_diag destroy events lost"):
			n, _ := m["overruns"].(float64)
			overruns = max(overruns, n)
		}
	}
	// The destroy events of the whole namespace share one receive buffer,
	// which other work on the machine can overrun: connections that the
	// agent counted lost are charged to that, down to 90 %.
	if short && (overruns == 0 || len(server)*100 < 90*n) {
		t.Errorf("%d of %d short connections published by their server end without eBPF (%v overruns of the destroy events' buffer), want at least 99%%, or 90%% with overruns",
			len(server), n, overruns)
	}
	if line == nil {
		t.Fatalf("no event sources line:\n%s", stderr.String())
	}
	t.Logf("start line as nobody: %v", line)
	ebpf, _ := line["ebpf"].(string)
	if !strings.HasPrefix(ebpf, "not available, short connections are published by their server ends only") || !strings.Contains(ebpf, "not permitted") {
		t.Errorf("ebpf as nobody: %q, want not available and not permitted", ebpf)
	}
	if line["os_proc_events"] != "auto" {
		t.Errorf("os_proc_events %v", line["os_proc_events"])
	}
}
