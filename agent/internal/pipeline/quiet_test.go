package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/wasmhost"
)

// TestQuiet checks the tick of an interval without events: it hands back
// the last state (the same lists, a new scan time, no closed list),
// counts toward full-rescan-every (10 here) so that the 10th regular tick
// after the first still reads everything, and refuses before any state,
// after ForceFull, with a tag command, and while processes wait for
// min-lifetime.
func TestQuiet(t *testing.T) {
	p := newPipeline(t, basicTree(t), nil, false, "")
	if _, _, ok := p.Quiet(); ok {
		t.Fatal("quiet before any state")
	}
	first, st, err := p.Tick(t.Context())
	if err != nil || !st.FullRescan {
		t.Fatalf("first tick: full %v, %v", st.FullRescan, err)
	}
	for i := 2; i <= 10; i++ {
		snap, st, ok := p.Quiet()
		if !ok {
			t.Fatalf("regular tick %d not quiet", i)
		}
		if !st.Quiet || st.Reported != len(first.Processes) || &snap.Processes[0] != &first.Processes[0] || &snap.SocketRows[0] != &first.SocketRows[0] {
			t.Fatalf("quiet tick %d: %+v, not the last state", i, st)
		}
		if !snap.Host.ScanTime.After(first.Host.ScanTime) || snap.Closed != nil {
			t.Fatalf("quiet tick %d: scan time %v, closed %v", i, snap.Host.ScanTime, snap.Closed)
		}
	}
	if _, _, ok := p.Quiet(); ok {
		t.Fatal("the 11th regular tick, a full re-read, was quiet")
	}
	if _, st, err := p.Tick(t.Context()); err != nil || !st.FullRescan {
		t.Fatalf("11th regular tick: full %v, %v", st.FullRescan, err)
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

// TestQuietEventsPeriod runs quiet hosts whose event sources vouch for
// them (UseEventsPeriod(true), events-full-rescan-every 25) or stop
// vouching (false, full-rescan-every 10), and checks which ticks read and
// which of those read everything. Steps, space-separated: q is a tick of
// an interval without events, - when Quiet answered it, else the Tick
// that reads, F when full, . when not; on and off call UseEventsPeriod;
// r names pid 901 for Reread (no output); a number n before q repeats it.
func TestQuietEventsPeriod(t *testing.T) {
	tests := []struct {
		name, steps, want string
	}{
		{"events period: 24 quiet ticks, the 25th reads everything", "on q 24q q 24q q",
			"F" + strings.Repeat(" -", 24) + " F" + strings.Repeat(" -", 24) + " F"},
		{"polling period: 9 quiet ticks, the 10th reads everything", "off q 9q q",
			"F" + strings.Repeat(" -", 9) + " F"},
		{"sources lost after 15 quiet ticks: the next tick reads everything", "on q 15q off q 9q q",
			"F" + strings.Repeat(" -", 15) + " F" + strings.Repeat(" -", 9) + " F"},
		{"sources lost after 5 quiet ticks: the polling period counts from the last full read", "on q 5q off 4q q",
			"F" + strings.Repeat(" -", 5) + strings.Repeat(" -", 4) + " F"},
		{"sources back: the events period again", "off q 3q on 21q q",
			"F" + strings.Repeat(" -", 3) + strings.Repeat(" -", 21) + " F"},
		{"an exec event's Reread: one tick reads that process, not everything", "on q 3q r q 20q q",
			"F" + strings.Repeat(" -", 3) + " ." + strings.Repeat(" -", 20) + " F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t, basicTree(t), nil, false, "")
			p.cfg.EventsFullRescanEvery = 25
			var got []string
			tick := func() {
				if _, _, ok := p.Quiet(); ok {
					got = append(got, "-")
					return
				}
				_, st, err := p.Tick(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if st.FullRescan {
					got = append(got, "F")
				} else {
					got = append(got, ".")
				}
			}
			for step := range strings.FieldsSeq(tt.steps) {
				switch step {
				case "on", "off":
					p.UseEventsPeriod(step == "on")
					if want := map[string]int{"on": 25, "off": 10}[step]; p.FullRescanEvery() != want {
						t.Fatalf("%s: full re-reads every %d ticks, want %d", step, p.FullRescanEvery(), want)
					}
				case "r":
					p.Reread(901)
				default:
					n := 1
					if step != "q" {
						if _, err := fmt.Sscanf(step, "%dq", &n); err != nil {
							t.Fatalf("bad step %q", step)
						}
					}
					for range n {
						tick()
					}
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("steps %s\n got %s\nwant %s", tt.steps, g, tt.want)
			}
		})
	}
}

// TestQuietWaitsForPlugins checks that a tick does not hand back the last
// state while the plugins' results in it do not stand: here the tick
// budget let the plugin answer for one chunk of the 100 processes, and
// the others wait for a tick that reads.
func TestQuietWaitsForPlugins(t *testing.T) {
	tree := &fakeproc.Tree{BootTime: 1, Procs: []fakeproc.Proc{
		{PID: 1, Comm: "init", StartTicks: 1, Argv: []string{"/sbin/init"}, NetNS: fakeproc.HostNetNS},
	}}
	for i := range 100 {
		tree.Procs = append(tree.Procs, fakeproc.Proc{PID: 1000 + i, PPID: 1, Comm: "w", StartTicks: 500,
			Argv: []string{"/usr/bin/w", strconv.Itoa(i)}, NetNS: fakeproc.HostNetNS})
	}
	root := t.TempDir()
	if err := tree.Write(root); err != nil {
		t.Fatal(err)
	}
	h := watHello(t, func(s *wasmhost.PluginSpec) { s.TickBudget = time.Nanosecond })
	p := newPipeline(t, root, nil, false, "")
	p.cfg.Plugins = h
	snap, _, err := p.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tagged := 0
	for _, pr := range snap.Processes {
		if pr.Tags["wat/hello"] != "" {
			tagged++
		}
	}
	if tagged == len(snap.Processes) {
		t.Fatalf("all %d processes tagged in one tick: the budget cut nothing short", tagged)
	}
	if _, _, ok := p.Quiet(); ok {
		t.Errorf("quiet although %d of %d processes wait for the plugin", len(snap.Processes)-tagged, len(snap.Processes))
	}
}
