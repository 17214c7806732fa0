package runner_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/proctag/proctag/agent/internal/runner/runnertest"
	"github.com/proctag/proctag/agent/snapshot"
)

// TestAutoAsNobody runs the agent as user nobody, without capabilities,
// with os-proc-events: auto. The kernel refuses it the BPF programs, so
// the start line must say that eBPF is not available and why, and the
// agent must still publish the host's state by polling.
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
	cfg := "os-proc-sync-enabled: true\nos-proc-events: auto\nhost-id: nobody-host\nos-proc-socket-min-lifetime: 0\nnats:\n  embedded:\n    listen: 127.0.0.1:0\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=run "+path, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var url []byte
	for b := make([]byte, 1); ; {
		if _, err := out.Read(b); err != nil {
			t.Fatalf("agent as nobody ended before it was ready: %v\n%s", err, stderr.String())
		}
		if b[0] == '\n' {
			break
		}
		url = append(url, b[0])
	}
	sub := runnertest.Follow(t, string(url), "nobody-host")
	runnertest.Wait(t, sub, "nobody-host", "the agent's own process", func(s *snapshot.Snapshot) bool {
		for _, p := range s.Processes {
			if p.PID == cmd.Process.Pid {
				return true
			}
		}
		return false
	})
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent as nobody: %v\n%s", err, stderr.String())
	}
	var line map[string]any
	for _, l := range strings.Split(stderr.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["@message"] == "event sources" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no event sources line:\n%s", stderr.String())
	}
	t.Logf("start line as nobody: %v", line)
	ebpf, _ := line["ebpf"].(string)
	if !strings.HasPrefix(ebpf, "not available, short connections are not published") || !strings.Contains(ebpf, "not permitted") {
		t.Errorf("ebpf as nobody: %q, want not available and not permitted", ebpf)
	}
	if line["os_proc_events"] != "auto" {
		t.Errorf("os_proc_events %v", line["os_proc_events"])
	}
}
