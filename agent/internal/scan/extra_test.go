package scan

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestFullRescanCadence drives a Scanner of the fake host through
// sequences of scans and Skips, under one period or switching between two
// as the agent does (full-rescan-every while polling,
// events-full-rescan-every while event sources vouch), and checks which
// scans read everything. Steps, space-separated:
//
//	s   a regular Scan: F when full, . when not
//	x   an extra Scan (NextExtra, a tick woken by events): F or .
//	f   NextFull, then a Scan: F or .
//	n   NextFull alone: no output
//	c   a Scan with a cancelled context, which fails: e
//	k   Skip (a quiet tick): - when it skipped, else the Scan the caller
//	    then makes, F or .
//	pN  SetFullRescanEvery(N): no output
func TestFullRescanCadence(t *testing.T) {
	tests := []struct {
		name  string
		every int
		steps string
		want  string
	}{
		{"every 3: the third regular scan after a full one", 3,
			"s s s s s s s", "F . . F . . F"},
		{"every 1: all full", 1,
			"s s s", "F F F"},
		{"every 0: all full, extra ones too", 0,
			"s x s", "F F F"},
		{"negative: only the first and forced ones", -1,
			"s s s f s", "F . . F ."},
		{"extra scans do not count", 3,
			"s x x s s s", "F . . . . F"},
		{"a forced full scan restarts the count", 3,
			"s s f s s s", "F . F . . F"},
		{"a failed scan owes its forced full read to the next", 3,
			"s n c s s s s", "F e F . . F"},
		{"skips count like regular scans and stop at a due full read", 3,
			"s k k k k k k", "F - - F - - F"},
		{"events period: 6 scans apart, quiet or not", 3,
			"s p6 k s k k k k k s", "F - . - - - F - ."},
		{"lengthened after a full read", 3,
			"s s p6 s s s s s", "F . . . . . F"},
		{"shortened when more than the new period passed: full at once", 6,
			"s k k k k p3 k k k k", "F - - - - F - - F"},
		{"shortened before the new period passed: full when it has", 6,
			"s k p3 k k k", "F - - F -"},
		{"events period, lost health, events period again", 3,
			"s p6 k k k k p3 s k p6 k k k k k k", "F - - - - F - - - - - F -"},
	}
	_, dir := fakeHost(t)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScanner(t, Config{Root: dir, FullRescanEvery: tt.every})
			var got []string
			read := func(ctx context.Context) string {
				res, err := s.Scan(ctx)
				switch {
				case err != nil && ctx == cancelled:
					return "e"
				case err != nil:
					t.Fatal(err)
				case res.Full:
					return "F"
				}
				return "."
			}
			for step := range strings.FieldsSeq(tt.steps) {
				switch step {
				case "s":
					got = append(got, read(t.Context()))
				case "x":
					s.NextExtra()
					got = append(got, read(t.Context()))
				case "f":
					s.NextFull()
					got = append(got, read(t.Context()))
				case "n":
					s.NextFull()
				case "c":
					got = append(got, read(cancelled))
				case "k":
					if s.Skip() {
						got = append(got, "-")
					} else {
						got = append(got, read(t.Context()))
					}
				default:
					n, err := strconv.Atoi(strings.TrimPrefix(step, "p"))
					if err != nil || step[0] != 'p' {
						t.Fatalf("bad step %q", step)
					}
					s.SetFullRescanEvery(n)
					if s.FullRescanEvery() != n {
						t.Fatalf("FullRescanEvery %d after SetFullRescanEvery(%d)", s.FullRescanEvery(), n)
					}
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("steps %s\n got %s\nwant %s", tt.steps, g, tt.want)
			}
		})
	}
}

// TestReread rewrites processes of the fake host between steady scans
// (no full read due for a long time): a cmdline rewritten with the same
// comm is seen only once Reread names the pid (as an exec event does), a
// changed comm (as an exec of another program shows) and a process turned
// zombie (no cmdline: no longer reported) are seen at once, a pending
// Reread makes Skip refuse, and the processes not named keep their cached
// values.
func TestReread(t *testing.T) {
	tests := []struct {
		name   string
		pid    int
		change func(*fakeproc.Proc)
		// reread names the pid; seen says whether the steady scan after
		// the change sees it without Reread; argv is the process's argv
		// once seen.
		reread, seen bool
		argv         []string
	}{
		{"argv rewrite, Reread", 901, func(p *fakeproc.Proc) { p.RawCmdline = "nginx: worker process is shutting down" }, true, false,
			[]string{"nginx: worker process is shutting down"}},
		{"exec with the same comm, Reread", 901, func(p *fakeproc.Proc) { p.Argv, p.RawCmdline = []string{"nginx", "-s", "reload"}, "" }, true, false,
			[]string{"nginx", "-s", "reload"}},
		{"exec of another program (new comm)", 901, func(p *fakeproc.Proc) {
			p.Comm, p.Argv, p.RawCmdline, p.Exe = "sleep", []string{"sleep", "60"}, "", "/usr/bin/sleep"
		}, false, true, []string{"sleep", "60"}},
		{"zombie", 901, func(p *fakeproc.Proc) { p.State, p.Argv, p.RawCmdline, p.Exe = 'Z', nil, "", "" }, false, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, dir := fakeHost(t)
			s := newScanner(t, Config{Root: dir, FullRescanEvery: 1000})
			first := byPID(scan(t, s))
			rewrite(t, tree, dir, tt.pid, tt.change)
			steady := scan(t, s)
			if steady.Full {
				t.Fatal("the second scan is full")
			}
			if changed := byPID(steady)[tt.pid] != first[tt.pid]; changed != tt.seen {
				t.Fatalf("steady scan without Reread saw the change: %v, want %v", changed, tt.seen)
			}
			if tt.reread {
				s.Reread(tt.pid)
				if s.Skip() {
					t.Fatal("Skip with a pending Reread")
				}
			}
			res := scan(t, s)
			p := byPID(res)[tt.pid]
			if res.Full || p == first[tt.pid] || p.Key != first[tt.pid].Key || p.Rev == first[tt.pid].Rev {
				t.Fatalf("after the change: full %v, process %+v, want a new revision of the same process", res.Full, p)
			}
			if !slices.Equal(p.Argv, tt.argv) {
				t.Errorf("argv %q, want %q", p.Argv, tt.argv)
			}
			if len(res.Added)+len(res.Removed) != 0 {
				t.Errorf("a re-read is not a new process: added %v removed %v", res.Added, res.Removed)
			}
			for pid, old := range first {
				if pid != tt.pid && byPID(res)[pid] != old {
					t.Errorf("pid %d was rebuilt although it was not named and did not change", pid)
				}
			}
			if !s.Skip() {
				t.Error("Skip refused after the Reread was served")
			}
		})
	}
}
