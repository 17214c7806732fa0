package runner

import (
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
)

// runTicks runs n ticks of l as the loop plans them with ev, and returns
// one mark per tick: F for a full re-read, - for a quiet tick, . for any
// other.
func runTicks(t *testing.T, l *loop, parts *Parts, ev *eventState, n int) string {
	t.Helper()
	var marks []string
	for range n {
		full := l.fullTicks
		out := planTick(t, l, parts, ev, false)
		switch {
		case l.fullTicks > full:
			marks = append(marks, "F")
		case out.quiet:
			marks = append(marks, "-")
		default:
			marks = append(marks, ".")
		}
	}
	return strings.Join(marks, "")
}

// fullMarks maps runTicks' marks to whether each tick was full.
func fullMarks(marks string) string {
	return strings.NewReplacer("-", ".").Replace(marks)
}

// TestEventsPeriod runs the agent's ticks on this machine's /proc with the
// eBPF TCP events loaded and read, as the loop does, and the process
// connector counted as running (the flag the loop clears when it stops):
// full re-reads come every events-full-rescan-every ticks (5 here; the
// ticks are quiet or not as the machine's activity has it, both count),
// and every full-rescan-every ticks (3) from the tick the connector
// stops, at once since more than 3 passed; the period is back once it
// runs again.
func TestEventsPeriod(t *testing.T) {
	cfg := config.Default()
	cfg.MinLifetime, cfg.HostID = 0, "period-host"
	cfg.FullRescanEvery, cfg.EventsFullRescanEvery = 3, 5
	l, parts := testLoop(t, &cfg)
	src := openTCP(t.Context(), l)
	if src == nil {
		t.Skip("the eBPF TCP events do not load here")
	}
	t.Cleanup(src.close)
	l.use(parts, src.conns)
	ev := eventState{procs: true, tcp: src}

	var got []string
	got = append(got, fullMarks(runTicks(t, l, parts, &ev, 15)))
	ev.procs = false // the process connector stopped
	got = append(got, fullMarks(runTicks(t, l, parts, &ev, 4)))
	ev.procs = true
	got = append(got, fullMarks(runTicks(t, l, parts, &ev, 6)))
	if lost := src.t.Lost(); lost > 0 {
		t.Skipf("this machine's TCP activity overflowed the ring (%d events lost), which forces full re-reads: the period cannot be told", lost)
	}
	// Events: the first tick, then every 5th; after 4 ticks past the last
	// full one (15 = 11+4), polling's 3 has passed: full at once, then
	// every 3rd; events again: 5 after the last full one.
	want := []string{"F....F....F....", "F..F", "....F."}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("full re-reads per tick:\n got %v\nwant %v", got, want)
	}
}

// TestLostEventsForceFull loads the eBPF TCP events with a 16 KiB ring
// that nobody reads and an events period no tick reaches: after a tick
// that is not full, 1,000 loopback connections overflow the ring, and the
// very next tick must be a full re-read.
func TestLostEventsForceFull(t *testing.T) {
	tr, src := unreadSource(t, 16<<10)

	cfg := config.Default()
	cfg.MinLifetime, cfg.HostID = 0, "lost-host"
	cfg.FullRescanEvery, cfg.EventsFullRescanEvery = 1000, 1000
	l, parts := testLoop(t, &cfg)
	l.use(parts, src.conns)
	ev := eventState{procs: true, tcp: src}

	if got := runTicks(t, l, parts, &ev, 1); got != "F" {
		t.Fatalf("first tick %q, want full", got)
	}
	// The machine's own TCP activity may fill the ring too: wait, for at
	// most a few ticks, for one that lost nothing and so is not full.
	settled := false
	for range 5 {
		if runTicks(t, l, parts, &ev, 1) != "F" {
			settled = true
			break
		}
	}
	if !settled {
		t.Skip("this machine's TCP activity keeps overflowing a 16 KiB ring")
	}
	pairs, err := loopconn.Open(1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pairs.Close() })
	if tr.Lost() == 0 {
		t.Fatal("1,000 connections did not overflow a 16 KiB ring")
	}
	if got := runTicks(t, l, parts, &ev, 1); got != "F" {
		t.Errorf("the tick after 1,000 connections overflowed the ring: %q, want a full re-read", got)
	}
	if every := parts.Pipeline.FullRescanEvery(); every != 1000 {
		t.Errorf("after the forced full re-read: every %d ticks, want the events period 1000", every)
	}
}

// planTick runs one tick of l as the loop plans it with ev (woken by
// process events when extra), records it in ev and returns how it ran.
func planTick(t *testing.T, l *loop, parts *Parts, ev *eventState, extra bool) tickOutcome {
	t.Helper()
	plan := ev.next(parts.Pipeline, extra)
	out := l.tick(t.Context(), parts, plan)
	if l.lastErr != "" {
		t.Fatal(l.lastErr)
	}
	ev.ticked(plan, out)
	return out
}
