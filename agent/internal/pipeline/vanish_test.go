package pipeline

import (
	"os"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestProcRootDisappears: a proc root that goes away makes a tick fail
// with an error (never a panic or a stale state), and the ticks after it
// comes back report its processes again.
func TestProcRootDisappears(t *testing.T) {
	root := basicTree(t)
	p := newPipeline(t, root, nil, false, "")
	first, _, err := p.Tick(t.Context())
	if err != nil || len(first.Processes) == 0 {
		t.Fatalf("first tick: %v, %d processes", err, len(first.Processes))
	}
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // a steady tick and a full one
		if snap, _, err := p.Tick(t.Context()); err == nil && len(snap.Processes) > 0 {
			t.Fatalf("tick %d without a proc root reported %d processes", i, len(snap.Processes))
		}
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", root, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	var again int
	for range 11 { // within a full re-read (FullRescanEvery is 10)
		snap, _, err := p.Tick(t.Context())
		if err == nil {
			again = len(snap.Processes)
		}
	}
	if again != len(first.Processes) {
		t.Errorf("after the proc root came back: %d processes, want %d", again, len(first.Processes))
	}
}
