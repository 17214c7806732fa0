package pipeline

import (
	"os"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/rules"
)

// TestForceFull checks that ForceFull makes the next successful Tick a
// full re-read (full-rescan-every is 10 here), that a Tick whose scan
// fails keeps it for the next, and that TickExtra does not count toward
// full-rescan-every.
func TestForceFull(t *testing.T) {
	root := basicTree(t)
	p := newPipeline(t, root, nil, false, "")
	full := func() bool {
		t.Helper()
		_, st, err := p.Tick(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return st.FullRescan
	}
	if !full() || full() {
		t.Fatal("want the first tick full and the second not")
	}
	p.ForceFull()
	if !full() || full() {
		t.Fatal("ForceFull did not make the next tick, and only it, full")
	}
	hidden := root + ".away"
	if err := os.Rename(root, hidden); err != nil {
		t.Fatal(err)
	}
	p.ForceFull()
	if _, _, err := p.Tick(t.Context()); err == nil {
		t.Fatal("a tick without its proc root worked")
	}
	if err := os.Rename(hidden, root); err != nil {
		t.Fatal(err)
	}
	if !full() {
		t.Fatal("a failed tick lost ForceFull")
	}
	// The forced full re-read restarts the count: the 10th regular tick
	// after it is the next full one, and extra ticks must not bring it
	// forward.
	for range 20 {
		if _, st, err := p.TickExtra(t.Context()); err != nil || st.FullRescan {
			t.Fatalf("an extra tick was full (%v) or failed: %v", st.FullRescan, err)
		}
	}
	for i := 1; i <= 10; i++ {
		if got := full(); got != (i == 10) {
			t.Fatalf("regular tick %d after the forced one full: %v", i, got)
		}
	}
}

// TestTickTableSources ticks on this machine's /proc with and without
// SockDiag: the tick's stats must count this namespace's four socket
// tables under the source that read them.
func TestTickTableSources(t *testing.T) {
	set, errs := rules.Compile(nil, func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, diag := range []bool{true, false} {
		p, err := New(Config{Root: "/proc", Rules: set, SockDiag: diag, FullRescanEvery: 10}, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		_, st, err := p.Tick(t.Context())
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		if diag && st.TablesSockDiag < 4 || !diag && (st.TablesSockDiag != 0 || st.TablesProcNet < 4) {
			t.Errorf("SockDiag %v: %d tables over sock_diag, %d from /proc/PID/net", diag, st.TablesSockDiag, st.TablesProcNet)
		}
	}
}
