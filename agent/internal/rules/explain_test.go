package rules

import (
	"strings"
	"testing"
)

// Issue 3: "proctag explain --pid N: for that process, each rule tried,
// whether it matched, the captures, the rewrite steps, the final verdict."
func TestExplain(t *testing.T) {
	specs := []Spec{
		{MatchRegex: "^bash$", MatchType: "parent_process_name", Action: "drop"},
		{MatchRegex: "(", File: "p.yaml", Line: 7},
		{MatchRegex: "^env:", MatchType: "tag", Action: "drop"},
		{MatchRegex: `python3 (?P<script>.*)\.py`, MatchType: "cmdline", RewriteName: "%APP%$script"},
		{MatchRegex: "never"},
	}
	s, _ := Compile(specs, mapEnv(map[string]string{"APP": "svc:"}))
	procs := []Proc{
		withTags(p(1, 0, "systemd", "/sbin/init"), "site", "eu"),
		withTags(p(10, 1, "python3", "python3 /srv/billing.py --port 80"), "team", "pay"),
		p(20, 0, "", "/"),
	}
	e := NewEvaluator(s, true)
	x, ok := e.Explain(procs, 10)
	if !ok {
		t.Fatal("pid 10 not explained")
	}
	if !x.Verdict.Reported || x.Verdict.Name != "svc:/srv/billing --port 80" || x.Verdict.MatchedRule != 3 {
		t.Fatalf("verdict = %+v", x.Verdict)
	}
	idx := []int{}
	for _, st := range x.Steps {
		idx = append(idx, st.Index)
	}
	if len(idx) != 4 || idx[0] != 0 || idx[1] != 1 || idx[2] != 2 || idx[3] != 3 {
		t.Fatalf("steps = %v, want rules 0..3 in order", idx)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"parent chain walked to systemd", len(x.Steps[0].Chain) == 1 && x.Steps[0].Chain[0].PID == 1 && x.Steps[0].ChainEnd == "ppid 0"},
		{"invalid rule shown as skipped with its reason", x.Steps[1].Skipped && strings.Contains(x.Steps[1].SkipReasons[0], "p.yaml:7")},
		{"tag rule tested each own tag", len(x.Steps[2].Tests) == 1 && x.Steps[2].Tests[0].Subject == "team:pay" && !x.Steps[2].Matched},
		{"named capture reported", len(x.Steps[3].Tests) == 1 && len(x.Steps[3].Tests[0].Captures) == 2 &&
			x.Steps[3].Tests[0].Captures[1].Name == "script" && x.Steps[3].Tests[0].Captures[1].Value == "/srv/billing"},
		{"template after env expansion", x.Steps[3].RewriteName == "%APP%$script" && x.Steps[3].Template == "svc:$script" && x.Steps[3].Matches == 1},
		{"own and inherited tags split", len(x.OwnTags) == 1 && len(x.InheritedTags) == 1 && x.InheritedTags[0].Key == "site"},
		{"tagged-only had no effect", x.TaggedOnlyEffect == ""},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, x)
		}
	}
}

func TestExplainEffects(t *testing.T) {
	young := p(5, 0, "java", "java")
	young.Young = true
	untagged := p(6, 0, "plain", "plain")
	procs := []Proc{young, untagged, p(20, 0, "", "/"), {PID: 2}}
	e := NewEvaluator(mustCompile(t, []Spec{{MatchRegex: "java", RewriteName: "%NOPE%"}}, nil), true)
	tests := []struct {
		name string
		pid  int
		want []string
	}{
		{"min-lifetime", 5, []string{"min-lifetime: younger than", "verdict: too young", "note: rewrite-name expands to"}},
		{"tagged-only", 6, []string{"tagged-only: os-proc-sync-tagged-only", "verdict: not tagged"}},
		{"no process name", 20, []string{"verdict: no process name"}},
		{"no argv", 2, []string{"verdict: no argv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, ok := e.Explain(procs, tt.pid)
			if !ok {
				t.Fatal("not explained")
			}
			// The fields explain prints, one line each (render
			// formats them; its golden files hold the words).
			var lines []string
			if x.MinLifetime != "" {
				lines = append(lines, "min-lifetime: "+x.MinLifetime)
			}
			if x.TaggedOnlyEffect != "" {
				lines = append(lines, "tagged-only: "+x.TaggedOnlyEffect)
			}
			if x.Verdict.Reported {
				t.Fatalf("pid %d reported: %+v", tt.pid, x.Verdict)
			}
			lines = append(lines, "verdict: "+x.Verdict.Reason)
			for _, st := range x.Steps {
				if st.Note != "" {
					lines = append(lines, "note: "+st.Note)
				}
			}
			text := strings.Join(lines, "\n")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("explanation lacks %q:\n%s", w, text)
				}
			}
		})
	}
	if _, ok := e.Explain(procs, 999); ok {
		t.Fatal("explained a pid that is not in the list")
	}
	if e.evals != 0 {
		t.Fatalf("Explain changed the evaluator's counter to %d", e.evals)
	}
}
