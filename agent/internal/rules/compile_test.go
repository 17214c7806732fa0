package rules

import (
	"errors"
	"regexp/syntax"
	"testing"

	"github.com/proctag/proctag/agent/internal/rustre"
)

// DESIGN.md "Invalid rules": "(a regex that does not compile, an unknown or
// miscased action or match-type) are skipped by DeepFlow, the others still
// apply." ProcRegRewrite::try_from fails on each; `check` reports them with
// file, line, key, value and what is allowed.
func TestInvalidRules(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		key  string
		is   error // sentinel for action and match-type
		// goSyntax: Go's regexp parser refused the translated pattern; the
		// *rustre.Error wraps its *syntax.Error.
		goSyntax bool
		message  string
	}{
		{"miscased action", Spec{MatchRegex: "x", Action: "Accept", File: "proctag.yaml", Line: 14}, "action", ErrAction, false,
			`proctag.yaml:14: os-proc-regex[1].action: "Accept" is not a valid action (allowed: accept, drop; case-sensitive)`},
		{"unknown action", Spec{Action: "ignore", File: "proctag.yaml", Line: 3}, "action", ErrAction, false,
			`proctag.yaml:3: os-proc-regex[1].action: "ignore" is not a valid action (allowed: accept, drop; case-sensitive)`},
		{"upper-case action", Spec{Action: "DROP"}, "action", ErrAction, false,
			`os-proc-regex[1].action: "DROP" is not a valid action (allowed: accept, drop; case-sensitive)`},
		{"miscased match-type", Spec{MatchType: "Process_Name", File: "f.yaml", Line: 9}, "match-type", ErrMatchType, false,
			`f.yaml:9: os-proc-regex[1].match-type: "Process_Name" is not a valid match-type (allowed: process_name, cmdline, parent_process_name, tag; case-sensitive)`},
		{"unknown match-type", Spec{MatchType: "exe"}, "match-type", ErrMatchType, false,
			`os-proc-regex[1].match-type: "exe" is not a valid match-type (allowed: process_name, cmdline, parent_process_name, tag; case-sensitive)`},
		{"look-around regex", Spec{MatchRegex: "a(?=b)", File: "f.yaml", Line: 2}, "match-regex", nil, false,
			`f.yaml:2: os-proc-regex[1].match-regex: "a(?=b)" is not a valid regex: look-around is not supported at offset 1 (allowed: Rust regex 1.8 syntax without look-around or back-references)`},
		{"regex that does not compile", Spec{MatchRegex: "(a"}, "match-regex", nil, true,
			`os-proc-regex[1].match-regex: "(a" is not a valid regex: error parsing regexp: missing closing ): ` + "`(a`" + ` (allowed: Rust regex 1.8 syntax without look-around or back-references)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs := []Spec{{MatchRegex: "^keep$", Action: "drop"}, tt.spec, {MatchRegex: "^also$", RewriteName: "kept"}}
			s, errs := Compile(specs, nil)
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", errs)
			}
			re := errs[0]
			if re.Index != 1 || re.Key != tt.key || re.Spec != tt.spec {
				t.Fatalf("error = %+v, want index 1 key %s", re, tt.key)
			}
			if tt.is != nil && !errors.Is(re, tt.is) {
				t.Fatalf("errors.Is(%v, %v) = false", re, tt.is)
			}
			if tt.key == "match-regex" {
				if _, ok := errors.AsType[*rustre.Error](re); !ok {
					t.Fatalf("%v does not wrap a *rustre.Error", re)
				}
			}
			if tt.goSyntax {
				if _, ok := errors.AsType[*syntax.Error](re); !ok {
					t.Fatalf("%v does not wrap a *syntax.Error", re)
				}
			}
			if re.Error() != tt.message {
				t.Fatalf("message\n got %s\nwant %s", re.Error(), tt.message)
			}
			// The others still apply, with their original indexes.
			procs := []Proc{p(1, 0, "keep", "keep"), p(2, 0, "also", "also"), p(3, 0, "other", "other")}
			vs := NewEvaluator(s, false).Evaluate(procs)
			checkVerdicts(t, procs, vs, []want{{pid: 1, rule: 0}, {pid: 2, reported: true, name: "kept", rule: 2},
				{pid: 3, reported: true, name: "other", rule: ImplicitRule}})
		})
	}
}

// Every bad key of a rule is reported, in DeepFlow's order of checks.
func TestInvalidRuleAllKeys(t *testing.T) {
	_, errs := Compile([]Spec{{MatchRegex: "(", Action: "allow", MatchType: "name"}}, nil)
	var keys []string
	for _, e := range errs {
		keys = append(keys, e.Key)
	}
	if len(keys) != 3 || keys[0] != "match-regex" || keys[1] != "action" || keys[2] != "match-type" {
		t.Fatalf("keys = %q, want match-regex, action, match-type", keys)
	}
}
