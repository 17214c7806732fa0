package rules

import (
	"cmp"
	"errors"
	"fmt"
)

// Sentinels wrapped by RuleError.Err, for callers that branch with
// errors.Is. A bad regex is a *rustre.Error instead (errors.As).
var (
	// ErrAction: action is not "", accept or drop (case-sensitive).
	ErrAction = errors.New("unknown action")
	// ErrMatchType: match-type is not "", process_name, cmdline,
	// parent_process_name or tag (case-sensitive).
	ErrMatchType = errors.New("unknown match-type")
)

// RuleError is one reason a rule is skipped, as DeepFlow skips it. A rule
// may have several (one per bad key); the other rules still apply.
type RuleError struct {
	// Index is the rule's position in os-proc-regex.
	Index int
	// Spec is the rule as written.
	Spec Spec
	// Key is the YAML key at fault: match-regex, match-type or action.
	Key string
	// Err says why: ErrAction, ErrMatchType, or for match-regex the
	// *rustre.Error of the Rust dialect translation.
	Err error
}

// Error reads like file:line: os-proc-regex[i].key: "value" is not … (allowed: …).
func (e *RuleError) Error() string {
	var value, what, allowed string
	at := e.Spec
	switch e.Key {
	case "action":
		value, what, allowed = e.Spec.Action, "a valid action", "accept, drop; case-sensitive"
		at.Line = cmp.Or(e.Spec.ActionLine, at.Line)
	case "match-type":
		value, what, allowed = e.Spec.MatchType, "a valid match-type",
			"process_name, cmdline, parent_process_name, tag; case-sensitive"
		at.Line = cmp.Or(e.Spec.TypeLine, at.Line)
	default:
		value, what, allowed = e.Spec.MatchRegex, "a valid regex: "+e.Err.Error(),
			"Rust regex 1.8 syntax without look-around or back-references"
		at.Line = cmp.Or(e.Spec.RegexLine, at.Line)
	}
	return fmt.Sprintf("%sos-proc-regex[%d].%s: %q is not %s (allowed: %s)",
		position(at), e.Index, e.Key, value, what, allowed)
}

// Unwrap returns the reason.
func (e *RuleError) Unwrap() error { return e.Err }

func position(s Spec) string {
	switch {
	case s.File != "" && s.Line > 0:
		return fmt.Sprintf("%s:%d: ", s.File, s.Line)
	case s.File != "":
		return s.File + ": "
	case s.Line > 0:
		return fmt.Sprintf("line %d: ", s.Line)
	}
	return ""
}

// Warning is a lint finding for `proctag check`: the rule works, but
// probably not as its author expects.
type Warning struct {
	// Index is the rule's position in os-proc-regex.
	Index int
	// File and Line locate the rule, as in its Spec.
	File string
	Line int
	// Msg says what is surprising, in lower case.
	Msg string
}

// String formats the warning like a RuleError.
func (w Warning) String() string {
	return fmt.Sprintf("%sos-proc-regex[%d]: %s", position(Spec{File: w.File, Line: w.Line}), w.Index, w.Msg)
}
