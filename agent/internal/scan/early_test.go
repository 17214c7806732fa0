package scan

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/waitfor"
)

// TestEarlyExited reads a live child with Early, lets it exit, and checks
// that the next Scan reports it once, with its exit time, its argv and
// the user of its uid, and the Scan after that no more.
func TestEarlyExited(t *testing.T) {
	s, err := New(Config{FullRescanEvery: 6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "sleep 0.2; true", "early-marker")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// The exec that Start waits for closes its pipe before the kernel has
	// placed the new argv (the process connector's exec event comes after
	// that): read once the cmdline is sh's, as the agent does on the event.
	waitfor.Until(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return bytes.HasSuffix(b, []byte("early-marker\x00"))
	}, "child %d's cmdline is not sh's", pid)
	s.Early().Read(pid)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	exited := time.Now()
	s.Early().Exit(pid, exited)
	res, err := s.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got *Process
	for _, p := range res.Processes {
		if p.PID == pid {
			got = p
		}
	}
	if got == nil {
		t.Fatalf("exited process %d read early is not in the scan", pid)
	}
	if !got.Exited.Equal(exited) || got.Cmdline != "sh -c sleep 0.2; true early-marker" || got.ProcessName != "sh" {
		t.Errorf("got %+v, want cmdline %q, exited %v", got, "sh -c sleep 0.2; true early-marker", exited)
	}
	res, err = s.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Processes {
		if p.PID == pid {
			t.Errorf("exited process %d still in the scan after", pid)
		}
	}
}
