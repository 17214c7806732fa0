package rules

import (
	"github.com/proctag/proctag/agent/internal/tags"
)

// Explanation is how the rules decided one process, for `proctag explain`.
type Explanation struct {
	// PID, PPID, ProcessName, Cmdline, HasArgv, Young and Tagged repeat
	// the process's inputs; TaggedOnly is os-proc-sync-tagged-only.
	PID, PPID            int
	ProcessName, Cmdline string
	HasArgv, Young       bool
	Tagged, TaggedOnly   bool
	// Steps are the rules in order up to the one that decided, skipped
	// (invalid) rules included. They are traced even for a process that is
	// not reported because it is too young, to show what would happen.
	Steps []Step
	// Verdict is what Evaluate returns for the process.
	Verdict Verdict
	// OwnTags and InheritedTags split Verdict.Tags.
	OwnTags, InheritedTags []tags.Tag
	// MinLifetime and TaggedOnlyEffect say how those settings changed the
	// outcome, "" when they did not.
	MinLifetime, TaggedOnlyEffect string
}

// Step is one rule tried on the process.
type Step struct {
	// Index is the rule's position in os-proc-regex, ImplicitRule for the
	// appended accept-all rule.
	Index int
	// Skipped rules were invalid and never tried; SkipReasons say why.
	Skipped     bool
	SkipReasons []string
	MatchType   string
	Action      string
	Regex       string
	// Tests are the texts the regex ran on: the subject for process_name
	// and cmdline, each "key:value" for tag, each ancestor's process_name
	// for parent_process_name (see Chain).
	Tests   []Test
	Matched bool
	// Chain is the parent walk of a parent_process_name rule; ChainEnd
	// says why it stopped without a match.
	Chain    []Link
	ChainEnd string
	// RewriteName is rewrite-name as written, Template after %VAR%
	// expansion; Result the new name, Matches how many matches were
	// replaced. Empty when the rule does not rewrite.
	RewriteName, Template, Result string
	Matches                       int
	Note                          string
}

// Test is one regex run.
type Test struct {
	// Subject is the text the regex ran on; Matched the outcome; Captures
	// the groups of the first match (group 0 first), when it matched.
	Subject  string
	Matched  bool
	Captures []Capture
}

// Capture is one group of the first match.
type Capture struct {
	// Group is the group number, Name its name or ""; Matched is false for
	// a group that did not participate (it expands to "").
	Group   int
	Name    string
	Value   string
	Matched bool
}

// Link is one ancestor tested by a parent_process_name rule.
type Link struct {
	// PID and ProcessName identify the ancestor; Matched is the outcome.
	PID         int
	ProcessName string
	Matched     bool
}

// trace collects Steps; a nil *trace records nothing (the hot path).
type trace struct {
	steps []Step
}

func (t *trace) cur(r *rule) *Step {
	if n := len(t.steps); n > 0 && t.steps[n-1].Index == r.index {
		return &t.steps[n-1]
	}
	action := "accept"
	if r.drop {
		action = "drop"
	}
	t.steps = append(t.steps, Step{Index: r.index, MatchType: r.matchType.String(), Action: action,
		Regex: r.spec.MatchRegex})
	return &t.steps[len(t.steps)-1]
}

func (t *trace) step(r *rule, subject string, ok bool) {
	if t == nil {
		return
	}
	s := t.cur(r)
	s.Tests = append(s.Tests, Test{Subject: subject, Matched: ok, Captures: captures(r, subject, ok)})
	s.Matched = s.Matched || ok
}

func (t *trace) link(r *rule, q *Proc, ok bool) {
	if t == nil {
		return
	}
	s := t.cur(r)
	s.Chain = append(s.Chain, Link{PID: q.PID, ProcessName: q.ProcessName, Matched: ok})
	s.Tests = append(s.Tests, Test{Subject: q.ProcessName, Matched: ok, Captures: captures(r, q.ProcessName, ok)})
	s.Matched = s.Matched || ok
}

func (t *trace) walkEnd(r *rule, why string) {
	if t == nil {
		return
	}
	t.cur(r).ChainEnd = why
}

// decided notes what happens to rewrite-name on the deciding rule.
func (t *trace) decided(r *rule) {
	if t == nil || r.spec.RewriteName == "" {
		return
	}
	s := t.cur(r)
	switch {
	case r.drop:
		s.Note = "rewrite-name is ignored on a drop rule"
	case r.matchType == MatchParentProcessName || r.matchType == MatchTag:
		s.Note = "rewrite-name is ignored on " + r.matchType.String() + " rules"
	case r.rewrite == "":
		s.Note = "rewrite-name expands to \"\": the name stays process_name"
	}
}

func (t *trace) rewrite(r *rule, subject, result string) {
	if t == nil {
		return
	}
	s := t.cur(r)
	s.RewriteName, s.Template, s.Result = r.spec.RewriteName, r.rewrite, result
	s.Matches = len(r.re.FindAllStringSubmatchIndex(subject, -1))
}

func captures(r *rule, subject string, ok bool) []Capture {
	if !ok || r.always {
		return nil
	}
	m := r.re.FindStringSubmatchIndex(subject)
	names := r.re.SubexpNames()
	var out []Capture
	for g := 0; 2*g+1 < len(m); g++ {
		c := Capture{Group: g, Name: names[g]}
		if m[2*g] >= 0 {
			c.Value, c.Matched = subject[m[2*g]:m[2*g+1]], true
		}
		out = append(out, c)
	}
	return out
}

// Explain traces the decision for pid within procs (the same list given to
// Evaluate). It runs on a fresh Evaluator, so it neither uses nor changes
// e's cache. ok is false when pid is not in procs.
func (e *Evaluator) Explain(procs []Proc, pid int) (Explanation, bool) {
	i := -1
	for k := range procs {
		if procs[k].PID == pid {
			i = k
			break
		}
	}
	if i < 0 {
		return Explanation{}, false
	}
	fresh := NewEvaluator(e.set, e.taggedOnly)
	verdicts := fresh.Evaluate(procs)
	p := &procs[i]
	x := Explanation{PID: p.PID, PPID: p.PPID, ProcessName: p.ProcessName, Cmdline: p.Cmdline,
		HasArgv: p.HasArgv, Young: p.Young, Tagged: p.Tagged, TaggedOnly: e.taggedOnly, Verdict: verdicts[i]}
	if p.eligible() {
		tr := &trace{}
		d := fresh.runRules(procs, i, tr)
		x.Steps = e.withSkipped(tr.steps, d.rule)
		if p.Young {
			x.MinLifetime = "younger than os-proc-socket-min-lifetime: not reported (rules shown for information), still a parent"
		}
		if e.taggedOnly && !p.Tagged && !d.rule.drop && !p.Young {
			x.TaggedOnlyEffect = "os-proc-sync-tagged-only and no os-app-tag-exec entry: not reported"
		}
	}
	if v := x.Verdict; v.Reported {
		n := min(len(p.Tags), len(v.Tags))
		x.OwnTags, x.InheritedTags = v.Tags[:n], v.Tags[n:]
	}
	return x, true
}

// withSkipped interleaves the skipped rules that come before the deciding
// rule with the traced steps.
func (e *Evaluator) withSkipped(steps []Step, decided *rule) []Step {
	limit := len(e.set.specs)
	if decided != nil && decided.index != ImplicitRule {
		limit = decided.index
	}
	var out []Step
	k := 0
	for idx := 0; idx < limit; idx++ {
		if errs, ok := e.set.skipped[idx]; ok {
			s := Step{Index: idx, Skipped: true, Regex: e.set.specs[idx].MatchRegex,
				MatchType: e.set.specs[idx].MatchType, Action: e.set.specs[idx].Action}
			for _, err := range errs {
				s.SkipReasons = append(s.SkipReasons, err.Error())
			}
			out = append(out, s)
			continue
		}
		for k < len(steps) && steps[k].Index == idx {
			out = append(out, steps[k])
			k++
		}
	}
	return append(out, steps[k:]...)
}
