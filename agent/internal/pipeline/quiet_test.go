package pipeline

import (
	"testing"
	"time"
)

// TestQuiet checks the tick of an interval without events: it hands back
// the last state (the same lists, a new scan time, no closed list),
// counts toward full-rescan-every (10 here) so that the 10th regular tick
// still reads everything, and refuses before any state, after ForceFull,
// with a tag command, and while processes wait for min-lifetime.
func TestQuiet(t *testing.T) {
	p := newPipeline(t, basicTree(t), nil, false, "")
	if _, _, ok := p.Quiet(); ok {
		t.Fatal("quiet before any state")
	}
	first, st, err := p.Tick(t.Context())
	if err != nil || !st.FullRescan {
		t.Fatalf("first tick: full %v, %v", st.FullRescan, err)
	}
	for i := 2; i <= 9; i++ {
		snap, st, ok := p.Quiet()
		if !ok {
			t.Fatalf("regular tick %d not quiet", i)
		}
		if !st.Quiet || st.Reported != len(first.Processes) || &snap.Processes[0] != &first.Processes[0] || &snap.Sockets[0] != &first.Sockets[0] {
			t.Fatalf("quiet tick %d: %+v, not the last state", i, st)
		}
		if !snap.Host.ScanTime.After(first.Host.ScanTime) || snap.Closed != nil {
			t.Fatalf("quiet tick %d: scan time %v, closed %v", i, snap.Host.ScanTime, snap.Closed)
		}
	}
	if _, _, ok := p.Quiet(); ok {
		t.Fatal("the 10th regular tick, a full re-read, was quiet")
	}
	if _, st, err := p.Tick(t.Context()); err != nil || !st.FullRescan {
		t.Fatalf("10th regular tick: full %v, %v", st.FullRescan, err)
	}
	p.ForceFull()
	if _, _, ok := p.Quiet(); ok {
		t.Fatal("quiet after ForceFull")
	}
	if _, _, err := p.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}

	tagged := newPipeline(t, basicTree(t), nil, false, "{}")
	if _, _, err := tagged.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := tagged.Quiet(); ok {
		t.Error("quiet with a tag command")
	}

	young := newPipeline(t, basicTree(t), nil, false, "")
	young.cfg.MinLifetime = 1000 * time.Hour
	if _, _, err := young.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := young.Quiet(); ok {
		t.Error("quiet while processes wait for min-lifetime")
	}
}
