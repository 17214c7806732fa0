package rules

import (
	"fmt"
	"regexp"
	"strconv"
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
	re        *regexp.Regexp
	// wordBoundary: the Rust pattern uses Unicode \b/\B; subjects with
	// non-ASCII text are matched by boundaryMatcher instead of re.
	wordBoundary bool
	bm           *boundaryMatcher
	// rewrite is rewrite-name after %VAR% expansion; tmpl its compiled
	// form. Only accept rules on process_name and cmdline rewrite, and only
	// when rewrite is not empty (DeepFlow: `!replace.is_empty()`).
	rewrite  string
	tmpl     template
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
	if err := r.compileRegex(sp.MatchRegex); err != nil {
		bad("match-regex", err)
	}
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
		r.tmpl = compileTemplate(r.rewrite, r.re.NumSubexp(), r.re.SubexpIndex)
	}
	r.acceptReason = "accepted by rule " + strconv.Itoa(i)
	r.dropReason = "dropped by rule " + strconv.Itoa(i)
	return r, nil
}

func (r *rule) compileRegex(src string) error {
	tr, err := translate(src)
	if err != nil {
		return err
	}
	re, err := regexp.Compile(tr.pattern)
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	r.re = re
	r.wordBoundary = tr.wordBoundary
	if r.wordBoundary {
		bm, err := newBoundaryMatcher(tr.pattern)
		if err != nil {
			return err
		}
		r.bm = bm
	}
	return nil
}

// Len returns the number of rules that apply, the implicit one included.
func (s *Set) Len() int { return len(s.rules) }

// match reports whether the rule's regex matches subject (unanchored).
func (r *rule) match(subject string) bool {
	if r.wordBoundary && !isASCII(subject) {
		return r.bm.match(subject)
	}
	return r.re.MatchString(subject)
}

// allMatches returns the submatch indexes of every match, with Rust's
// iteration rules (an empty match right after a match is skipped).
func (r *rule) allMatches(subject string) [][]int {
	if r.wordBoundary && !isASCII(subject) {
		return r.bm.findAll(subject)
	}
	// Go's FindAll skips an empty match abutting the previous match and
	// steps one rune after an empty match, which is regex 1.8's
	// CaptureMatches iterator.
	return r.re.FindAllStringSubmatchIndex(subject, -1)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
