package rules

import (
	"strconv"

	"github.com/proctag/proctag/agent/internal/rustre"
)

// MatchType says which text a rule's regex is tested on.
type MatchType uint8

// The match types of os-proc-regex ("" is process_name).
const (
	MatchProcessName MatchType = iota
	MatchCmdline
	MatchParentProcessName
	MatchTag
)

// String returns the YAML spelling.
func (m MatchType) String() string {
	return [...]string{"process_name", "cmdline", "parent_process_name", "tag"}[m]
}

// ImplicitRule is the MatchedRule of a process accepted by the accept-all
// rule DeepFlow appends after the configured ones.
const ImplicitRule = -1

// NoRule is the MatchedRule of a process no rule was tried on (no argv,
// no process name, too young).
const NoRule = -2

// rule is one compiled os-proc-regex entry.
type rule struct {
	index     int // position in os-proc-regex, ImplicitRule for the appended one
	spec      Spec
	matchType MatchType
	drop      bool
	// re is match-regex in the Rust regex crate's dialect, as DeepFlow
	// compiles it with Regex::new.
	re *rustre.Regexp
	// rewrite is rewrite-name after %VAR% expansion; tmpl its compiled
	// form (a Rust replace_all template). Only accept rules on
	// process_name and cmdline rewrite, and only when rewrite is not empty
	// (DeepFlow: `!replace.is_empty()`).
	rewrite  string
	tmpl     *rustre.Template
	envNames []string // %VAR% names looked up, for lint
	// always: the appended accept-all rule, which needs no regex run.
	always bool
	// reason strings, built once so verdicts allocate nothing.
	acceptReason, dropReason string
}

func (r *rule) rewrites() bool {
	return !r.drop && r.rewrite != "" && (r.matchType == MatchProcessName || r.matchType == MatchCmdline)
}

// Set is a compiled os-proc-regex list: the valid rules in order, then the
// implicit accept-all rule. It is immutable after Compile and safe for
// concurrent use; evaluation state lives in an Evaluator.
type Set struct {
	rules   []*rule
	skipped map[int][]*RuleError
	specs   []Spec
}

// Compile compiles specs the way DeepFlow's ProcRegRewrite::try_from does:
// the regex (Rust dialect), the action ("" = accept), the match type
// ("" = process_name), and rewrite-name with %VAR% expanded once from env
// (nil env: every variable unset). A rule with any bad key is skipped and
// reported; the others still apply. An accept-all rule is appended. The
// Set is never nil.
func Compile(specs []Spec, env Env) (*Set, []*RuleError) {
	s := &Set{skipped: map[int][]*RuleError{}, specs: specs}
	var errs []*RuleError
	for i, sp := range specs {
		r, rerrs := compileRule(i, sp, env)
		if len(rerrs) > 0 {
			s.skipped[i] = rerrs
			errs = append(errs, rerrs...)
			continue
		}
		s.rules = append(s.rules, r)
	}
	// config.rs appends {match-regex: ".*", match-type: process_name,
	// action: accept, rewrite-name: ""}.
	implicit, _ := compileRule(ImplicitRule, Spec{MatchRegex: ".*", MatchType: "process_name", Action: "accept"}, nil)
	implicit.always = true
	implicit.acceptReason = "accepted by the implicit accept-all rule"
	s.rules = append(s.rules, implicit)
	return s, errs
}

func compileRule(i int, sp Spec, env Env) (*rule, []*RuleError) {
	r := &rule{index: i, spec: sp}
	var errs []*RuleError
	bad := func(key string, err error) {
		errs = append(errs, &RuleError{Index: i, Spec: sp, Key: key, Err: err})
	}
	re, err := rustre.Compile(sp.MatchRegex)
	if err != nil {
		bad("match-regex", err)
	}
	r.re = re
	switch sp.Action {
	case "", "accept":
	case "drop":
		r.drop = true
	default:
		bad("action", ErrAction)
	}
	switch sp.MatchType {
	case "", "process_name":
		r.matchType = MatchProcessName
	case "cmdline":
		r.matchType = MatchCmdline
	case "parent_process_name":
		r.matchType = MatchParentProcessName
	case "tag":
		r.matchType = MatchTag
	default:
		bad("match-type", ErrMatchType)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	r.rewrite, r.envNames = expandEnv(sp.RewriteName, env)
	if r.rewrites() {
		r.tmpl = r.re.Template(r.rewrite)
	}
	r.acceptReason = "accepted by rule " + strconv.Itoa(i)
	r.dropReason = "dropped by rule " + strconv.Itoa(i)
	return r, nil
}

// Len returns the number of rules that apply, the implicit one included.
func (s *Set) Len() int { return len(s.rules) }
