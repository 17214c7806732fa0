package rules

import (
	"slices"
	"testing"
)

// Issue 3: "Regexes compiled once; verdicts cached per (pid, starttime) so
// a steady tick runs no regex." Each case runs a cold tick, changes one
// thing, and counts the regex evaluations of the second tick.
func TestCache(t *testing.T) {
	specs := []Spec{
		{MatchRegex: "^init$", MatchType: "parent_process_name", Action: "drop"},
		{MatchRegex: "^team:", MatchType: "tag", RewriteName: "x"},
		{MatchRegex: "--port", MatchType: "cmdline"},
		{MatchRegex: "^(.*)d$", RewriteName: "$1"},
	}
	base := func() []Proc {
		return []Proc{
			p(1, 0, "systemd", "/sbin/init"),
			p(10, 1, "sshd", "sshd -D"),
			withTags(p(11, 10, "bash", "bash -l"), "team", "ops"),
			p(12, 11, "vim", "vim a.txt"),
		}
	}
	tests := []struct {
		name      string
		change    func([]Proc) []Proc
		wantEvals uint64
	}{
		{"nothing changed: no regex", func(ps []Proc) []Proc { return ps }, 0},
		{"order changed: no regex", func(ps []Proc) []Proc { slices.Reverse(ps); return ps }, 0},
		{"a new Rev re-runs that process", func(ps []Proc) []Proc { ps[3].Rev++; return ps }, 5},
		{"a changed cmdline re-runs that process", func(ps []Proc) []Proc { ps[3].Cmdline = "vim b.txt"; return ps }, 5},
		{"a new ppid re-runs that process", func(ps []Proc) []Proc { ps[3].PPID = 10; return ps }, 4}, // shorter walk
		{"changed own tags re-run that process", func(ps []Proc) []Proc { ps[2].Tags[0].Value = "dev"; return ps }, 3},
		{"pid reuse (new starttime) re-runs it", func(ps []Proc) []Proc { ps[3].StartTicks++; return ps }, 5},
		{"a renamed ancestor re-runs the descendants", func(ps []Proc) []Proc { ps[1].ProcessName = "init"; return ps }, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEvaluator(mustCompile(t, specs, nil), false)
			cold := e.Evaluate(base())
			before := e.evals
			if before == 0 {
				t.Fatal("cold tick ran no regex")
			}
			procs := tt.change(base())
			steady := e.Evaluate(procs)
			if got := e.evals - before; got != tt.wantEvals {
				t.Fatalf("second tick ran %d regexes, want %d", got, tt.wantEvals)
			}
			// Cached or not, the verdicts are those of a fresh evaluator.
			fresh := NewEvaluator(e.set, false).Evaluate(procs)
			for i := range procs {
				if !sameVerdict(steady[i], fresh[i]) {
					t.Fatalf("pid %d: cached %+v, fresh %+v", procs[i].PID, steady[i], fresh[i])
				}
			}
			_ = cold
		})
	}
}

// Entries of processes that are gone are evicted.
func TestCacheEviction(t *testing.T) {
	e := NewEvaluator(mustCompile(t, nil, nil), false)
	e.Evaluate([]Proc{p(1, 0, "a", "a"), p(2, 1, "b", "b")})
	e.Evaluate([]Proc{p(1, 0, "a", "a")})
	if len(e.cache) != 1 {
		t.Fatalf("cache holds %d entries after pid 2 exited, want 1", len(e.cache))
	}
}

func sameVerdict(a, b Verdict) bool {
	return a.Reported == b.Reported && a.Name == b.Name && a.MatchedRule == b.MatchedRule &&
		a.Reason == b.Reason && slices.Equal(a.Tags, b.Tags)
}
