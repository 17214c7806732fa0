package rules

import (
	"strings"
	"testing"
)

// Issue 3: "proctag check warns about DeepFlow's traps (a cmdline rewrite
// that keeps trailing arguments, an empty regex with a rewrite, a rule
// after an accept-all that can never match)", plus rewrite-name where
// DeepFlow ignores it.
func TestLint(t *testing.T) {
	tests := []struct {
		name  string
		specs []Spec
		index int    // rule the warning is about, -1 for no warning
		msg   string // substring
	}{
		{"cmdline rewrite keeps trailing arguments", []Spec{{MatchRegex: `python3 (.*)\.py`, MatchType: "cmdline", RewriteName: "$1"}},
			0, "trailing arguments stay in the name"},
		{"cmdline rewrite ending in .* is fine", []Spec{{MatchRegex: `python3 (.*)\.py.*`, MatchType: "cmdline", RewriteName: "$1"}}, -1, ""},
		{"cmdline rewrite anchored with $ is fine", []Spec{{MatchRegex: `java .* (\S+)$`, MatchType: "cmdline", RewriteName: "$1"}}, -1, ""},
		{"empty regex with a rewrite", []Spec{{RewriteName: "x"}}, 0, "inserts the template before every character"},
		{"rule after an empty accept-all", []Spec{{}, {MatchRegex: "x", Action: "drop"}}, 1, "can never match: rule 0"},
		{"rule after .*", []Spec{{MatchRegex: ".*", MatchType: "cmdline"}, {MatchRegex: "x"}}, 1, "can never match"},
		{"rule after ^.*$", []Spec{{MatchRegex: "^.*$"}, {MatchRegex: "x"}}, 1, "can never match"},
		{"rule after (.*)", []Spec{{MatchRegex: "(.*)", RewriteName: "$1"}, {MatchRegex: "x"}}, 1, "can never match"},
		{"a real filter does not shadow", []Spec{{MatchRegex: "^.+$"}, {MatchRegex: "x"}}, -1, ""},
		{"a tag accept-all does not shadow", []Spec{{MatchRegex: ".*", MatchType: "tag"}, {MatchRegex: "x"}}, -1, ""},
		{"rewrite on parent_process_name is ignored", []Spec{{MatchRegex: "x", MatchType: "parent_process_name", RewriteName: "y"}}, 0, "ignored on parent_process_name"},
		{"rewrite on tag is ignored", []Spec{{MatchRegex: "x", MatchType: "tag", RewriteName: "y"}}, 0, "ignored on tag"},
		{"drop with rewrite", []Spec{{MatchRegex: "x", Action: "drop", RewriteName: "y"}}, 0, "on a drop rule is ignored"},
		{"rewrite expanding to empty", []Spec{{MatchRegex: "x", RewriteName: "%NOPE%"}}, 0, `expands to ""`},
		{"plain process_name rewrite is fine", []Spec{{MatchRegex: "^(.*)d$", RewriteName: "$1"}}, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.specs {
				tt.specs[i].File, tt.specs[i].Line = "c.yaml", 10+i
			}
			ws := mustCompile(t, tt.specs, nil).Lint()
			if tt.index < 0 {
				if len(ws) != 0 {
					t.Fatalf("warnings = %v, want none", ws)
				}
				return
			}
			if len(ws) != 1 || ws[0].Index != tt.index || !strings.Contains(ws[0].Msg, tt.msg) || ws[0].Line != 10+tt.index {
				t.Fatalf("warnings = %v, want one on rule %d saying %q", ws, tt.index, tt.msg)
			}
			if !strings.HasPrefix(ws[0].String(), "c.yaml:") {
				t.Fatalf("String() = %q lacks the position", ws[0].String())
			}
		})
	}
}
