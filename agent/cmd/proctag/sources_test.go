package main

import (
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/internal/sockdiag"
	"github.com/proctag/proctag/agent/internal/tcpevents"
)

// TestScanSources runs `proctag scan --sources`: one line per event source,
// "NAME: available" or "NAME: not available: WHY", without a tick. sock_diag
// needs no privilege, so it is available wherever this test can open it
// itself; eBPF is where this test can load the TCP event programs itself.
func TestScanSources(t *testing.T) {
	out, err := execute(t, "scan", "--sources")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out)
	}
	for i, name := range []string{"sock_diag", "process connector", "eBPF"} {
		rest, ok := strings.CutPrefix(lines[i], name+": ")
		if !ok || (rest != "available" && !strings.HasPrefix(rest, "not available: ")) || rest == "not available: " {
			t.Errorf("line %d is %q, want %q then available or not available and why", i+1, lines[i], name+": ")
		}
	}
	want := "sock_diag: available"
	if c, err := sockdiag.Open(); err != nil {
		want = "sock_diag: not available: "
	} else {
		c.Close()
	}
	if !strings.HasPrefix(lines[0], want) {
		t.Errorf("line 1 is %q, want it to start %q", lines[0], want)
	}
	want = "eBPF: available"
	if tr, err := tcpevents.Open(tcpevents.Config{}); err != nil {
		want = "eBPF: not available: " + err.Error()
	} else {
		tr.Close()
	}
	if lines[2] != want {
		t.Errorf("line 3 is %q, want %q", lines[2], want)
	}
}
