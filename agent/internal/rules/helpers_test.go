package rules

import (
	"testing"

	"github.com/proctag/proctag/agent/internal/tags"
)

// p builds a live process with argv; name is process_name.
func p(pid, ppid int, name, cmdline string) Proc {
	return Proc{PID: pid, PPID: ppid, StartTicks: uint64(pid) * 100, HasArgv: true, ProcessName: name, Cmdline: cmdline}
}

func withTags(pr Proc, kv ...string) Proc {
	pr.Tagged = true
	pr.Tags = []tags.Tag{}
	for i := 0; i+1 < len(kv); i += 2 {
		pr.Tags = append(pr.Tags, tags.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return pr
}

// mustCompile compiles specs that must all be valid.
func mustCompile(t testing.TB, specs []Spec, env Env) *Set {
	t.Helper()
	s, errs := Compile(specs, env)
	for _, err := range errs {
		t.Fatalf("compile: %v", err)
	}
	return s
}

// evaluate compiles specs and evaluates procs once.
func evaluate(t testing.TB, specs []Spec, procs []Proc, taggedOnly bool) []Verdict {
	t.Helper()
	return NewEvaluator(mustCompile(t, specs, nil), taggedOnly).Evaluate(procs)
}

// verdictOf returns the verdict of pid.
func verdictOf(t testing.TB, procs []Proc, vs []Verdict, pid int) Verdict {
	t.Helper()
	for i := range procs {
		if procs[i].PID == pid {
			return vs[i]
		}
	}
	t.Fatalf("pid %d not in the process list", pid)
	return Verdict{}
}

// want is the expected outcome for one pid.
type want struct {
	pid      int
	reported bool
	name     string
	rule     int
	reason   string
}

func checkVerdicts(t *testing.T, procs []Proc, vs []Verdict, wants []want) {
	t.Helper()
	for _, w := range wants {
		v := verdictOf(t, procs, vs, w.pid)
		if v.Reported != w.reported || v.Name != w.name || v.MatchedRule != w.rule || (w.reason != "" && v.Reason != w.reason) {
			t.Errorf("pid %d: got reported=%v name=%q rule=%d reason=%q, want reported=%v name=%q rule=%d reason=%q",
				w.pid, v.Reported, v.Name, v.MatchedRule, v.Reason, w.reported, w.name, w.rule, w.reason)
		}
	}
}

func mapEnv(m map[string]string) Env {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}
