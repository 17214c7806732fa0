package render

import (
	"bytes"
	"testing"

	"github.com/proctag/proctag/agent/internal/explain"
)

// explained is an explanation with every part filled: a skipped rule, a
// regex run with captures (one unset), a parent walk, a rewrite and a
// note, own and inherited tags, and plugins that were called, cached,
// skipped, faulted and belong to a tenant.
func explained() explain.Process {
	return explain.Process{
		PID: 813, PPID: 812, ProcessName: "python3", Cmdline: "python3 /srv/app/billing.py --port 8080",
		HasArgv: true, Tagged: true,
		Rules: []explain.Rule{
			{Index: 0, Skipped: true, SkipReasons: []string{`t.yaml:3: os-proc-regex[0].match-regex: "(?=x)" is not a valid regex`}, MatchType: "", Regex: "(?=x)"},
			{Index: 1, MatchType: "parent_process_name", Action: "accept", Regex: "^nginx$",
				Tests: []explain.Test{{Subject: "python3"}, {Subject: "systemd"}},
				Chain: []explain.Link{{PID: 812, ProcessName: "python3"}, {PID: 1, ProcessName: "systemd"}}, ChainEnd: "ppid 0"},
			{Index: 2, MatchType: "cmdline", Action: "accept", Regex: `python3 (.*)\.py( x)?`, Matched: true,
				Tests: []explain.Test{{Subject: "python3 /srv/app/billing.py --port 8080", Matched: true, Captures: []explain.Capture{
					{Group: 0, Value: "python3 /srv/app/billing.py", Matched: true},
					{Group: 1, Name: "path", Value: "/srv/app/billing", Matched: true},
					{Group: 2},
				}}},
				RewriteName: "$1-py-script", Template: "$1-py-script", Result: "/srv/app/billing-py-script --port 8080", Matches: 1,
				Note: "a note"},
		},
		TaggedOnlyEffect: "a tagged-only effect",
		Verdict:          explain.Verdict{Reported: true, Name: "/srv/app/billing-py-script --port 8080", Reason: "accepted by rule 2", MatchedRule: 2},
		OwnTags:          []explain.Tag{{Key: "team", Value: "pay"}},
		InheritedTags:    []explain.Tag{},
		Plugins: explain.Plugins{
			State: explain.PluginsApplied,
			Effects: []explain.Effect{
				{Plugin: "namer", Called: true, HasRename: true, Rename: "billing", SetTags: []explain.Tag{{Key: "app", Value: "billing"}}},
				{Plugin: "cleaner", RemoveTags: []string{"team"}},
				{Plugin: "scoped", Skipped: "out of scope"},
				{Plugin: "crashy", Called: true, Error: "plugin crashy: trap: wasm error: unreachable"},
				{Plugin: "tagger", Tenant: "payments", Called: true, Drop: true},
			},
			Name: "billing", Drop: true,
			Tags: []explain.Tag{{Key: "app", Value: "billing"}, {Key: "z", Value: "1"}},
		},
	}
}

func TestExplanation(t *testing.T) {
	tests := []struct {
		name   string
		x      explain.Process
		golden string
	}{
		{"every part", explained(), "explain.golden"},
		{"kernel thread, no plugins", explain.Process{PID: 2, ProcessName: "", Verdict: explain.Verdict{Reason: "no argv", MatchedRule: explain.NoRule}, Plugins: explain.Plugins{State: explain.PluginsNone}}, "explain-kthread.golden"},
		{"not called", explain.Process{PID: 9, HasArgv: true, ProcessName: "sshd", Young: true, MinLifetime: "too young",
			Rules:   []explain.Rule{{Index: explain.ImplicitRule, MatchType: "process_name", Action: "accept", Regex: ".*", Matched: true, Tests: []explain.Test{{Subject: "sshd", Matched: true}}}},
			Verdict: explain.Verdict{Reason: "too young", MatchedRule: explain.ImplicitRule}, Plugins: explain.Plugins{State: explain.PluginsNotCalled}}, "explain-young.golden"},
		{"no output", explain.Process{PID: 10, HasArgv: true, ProcessName: "x", Plugins: explain.Plugins{State: explain.PluginsNoOutput}}, "explain-nooutput.golden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Explanation(&b, tc.x); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, b.Bytes())
		})
	}
}

func TestExplanationJSON(t *testing.T) {
	var b bytes.Buffer
	if err := ExplanationJSON(&b, explained()); err != nil {
		t.Fatal(err)
	}
	golden(t, "explain.json.golden", b.Bytes())
}

func TestEffectChanges(t *testing.T) {
	tests := []struct {
		e    explain.Effect
		want string
	}{
		{explain.Effect{}, ", no change"},
		{explain.Effect{HasRename: true}, `, rename to ""`},
		{explain.Effect{SetTags: []explain.Tag{{Key: "a", Value: "b c"}}, RemoveTags: []string{"d"}, Drop: true}, `, set tag a="b c", remove tag d, drop`},
	}
	for _, tc := range tests {
		if got := EffectChanges(tc.e); got != tc.want {
			t.Errorf("EffectChanges(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}
