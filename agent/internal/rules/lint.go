package rules

import (
	"fmt"
	"regexp/syntax"
)

// Lint returns warnings about rules that work, but probably not as meant
// (DeepFlow's traps): a cmdline rewrite that keeps the trailing arguments,
// an empty regex with a rewrite, rules after one that matches every
// process, rewrite-name where it is ignored, and rewrite-names that expand
// to nothing. Skipped (invalid) rules are Compile's errors, not warnings.
func (s *Set) Lint() []Warning {
	var ws []Warning
	warn := func(r *rule, format string, args ...any) {
		ws = append(ws, Warning{Index: r.index, File: r.spec.File, Line: r.spec.Line, Msg: fmt.Sprintf(format, args...)})
	}
	shadow := -1
	for _, r := range s.rules {
		if r.index == ImplicitRule {
			break
		}
		if shadow >= 0 {
			warn(r, "can never match: rule %d before it matches every process", shadow)
		}
		parsed, err := syntax.Parse(r.re.GoPattern(), syntax.Perl)
		if err != nil {
			continue
		}
		if shadow < 0 && (r.matchType == MatchProcessName || r.matchType == MatchCmdline) &&
			matchesEverything(parsed.Simplify()) {
			shadow = r.index
		}
		spec := r.spec
		switch {
		case spec.RewriteName == "":
		case r.drop:
			warn(r, "rewrite-name %q on a drop rule is ignored", spec.RewriteName)
		case r.matchType == MatchParentProcessName || r.matchType == MatchTag:
			warn(r, "rewrite-name %q is ignored on %s rules", spec.RewriteName, r.matchType)
		case r.rewrite == "":
			warn(r, "rewrite-name %q expands to \"\" (variables %q unset or empty): the name stays process_name",
				spec.RewriteName, r.envNames)
		case spec.MatchRegex == "":
			warn(r, "empty match-regex with rewrite-name %q inserts the template before every character and at the end; use .* to replace the whole name", r.rewrite)
		case r.matchType == MatchCmdline && !consumesTail(parsed.Simplify()):
			warn(r, "cmdline rewrite keeps the text after the match: trailing arguments stay in the name; end match-regex with .* to drop them")
		}
	}
	return ws
}

// matchesEverything reports whether an unanchored search for re succeeds on
// any subject (without newlines): it can match the empty string at the
// start, like "", ".*", "^.*$", "x*".
func matchesEverything(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpStar, syntax.OpQuest, syntax.OpBeginText, syntax.OpBeginLine:
		return true
	case syntax.OpRepeat:
		return re.Min == 0
	case syntax.OpCapture:
		return matchesEverything(re.Sub[0])
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if matchesEverything(s) {
				return true
			}
		}
		return false
	case syntax.OpConcat:
		subs := re.Sub
		for len(subs) > 0 && (subs[0].Op == syntax.OpBeginText || subs[0].Op == syntax.OpBeginLine) {
			subs = subs[1:]
		}
		n := len(subs)
		if n >= 2 && (subs[n-1].Op == syntax.OpEndText || subs[n-1].Op == syntax.OpEndLine) && isStarAny(subs[n-2]) {
			subs = subs[:n-1]
		}
		for _, s := range subs {
			if !matchesEverything(s) {
				return false
			}
		}
		return true
	}
	return false
}

func isStarAny(re *syntax.Regexp) bool {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	return re.Op == syntax.OpStar && (re.Sub[0].Op == syntax.OpAnyChar || re.Sub[0].Op == syntax.OpAnyCharNotNL) &&
		re.Flags&syntax.NonGreedy == 0
}

// consumesTail reports whether every match of re runs to the end of the
// subject (ends with $ or a greedy .* / .+), so a replace-all leaves no
// trailing text.
func consumesTail(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEndText, syntax.OpEndLine:
		return true
	case syntax.OpCapture:
		return consumesTail(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return isStarAny(&syntax.Regexp{Op: syntax.OpStar, Sub: re.Sub, Flags: re.Flags})
	case syntax.OpConcat:
		return len(re.Sub) > 0 && consumesTail(re.Sub[len(re.Sub)-1])
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if !consumesTail(s) {
				return false
			}
		}
		return true
	}
	return false
}
