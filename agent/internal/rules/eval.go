package rules

import (
	"github.com/proctag/proctag/agent/internal/procid"
	"slices"

	"github.com/proctag/proctag/agent/internal/tags"
)

// Proc is what the rules need to know about one scanned process. The scan
// step fills it for every pid in /proc, kernel threads included (they are
// never reported but the list must be complete for parent walks).
type Proc struct {
	// PID and PPID come from /proc/PID/stat; PPID 0 means no parent.
	PID, PPID int
	// StartTicks is starttime from /proc/PID/stat; (PID, StartTicks) is the
	// process identity the verdict cache is keyed on.
	StartTicks uint64
	// Rev changes whenever the scanner re-read argv and found it changed
	// (prctl, argv rewrite); a changed Rev re-runs the rules.
	Rev uint64
	// HasArgv is false when /proc/PID/cmdline had no non-empty argument
	// (kernel threads, zombies): never reported, never a parent.
	HasArgv bool
	// ProcessName is the last path element of argv[0]; "" when argv[0] is
	// "/" or ends in "..": never reported, never a parent (DeepFlow's
	// ProcessData::try_from fails on it).
	ProcessName string
	// Cmdline is argv joined with single spaces, before any redaction.
	Cmdline string
	// Young: the process has lived less than os-proc-socket-min-lifetime.
	// It is not reported but still counts as a parent.
	Young bool
	// Tagged: os-app-tag-exec listed the pid (even with `tags: []`).
	Tagged bool
	// Tags are the pid's own tag-exec tags, in output order.
	Tags []tags.Tag
}

func (p *Proc) eligible() bool { return p.HasArgv && p.ProcessName != "" }

// Verdict is the rules' decision for one process.
type Verdict struct {
	// Reported: the process is published (and its sockets collected).
	Reported bool
	// Name is the process name after rewrite-name, or ProcessName; "" when
	// not reported.
	Name string
	// MatchedRule is the index in os-proc-regex of the rule that decided
	// (accepted or dropped), ImplicitRule for the appended accept-all rule,
	// NoRule when no rule was tried.
	MatchedRule int
	// Tags are the process's own tags, then those inherited from its
	// reported ancestors. The slice may be shared with later Verdicts of the
	// same process: read it, do not modify it.
	Tags []tags.Tag
	// Reason says why, briefly: "accepted by rule 2", "dropped by rule 2",
	// "no argv", "no process name", "too young", "not tagged".
	Reason string
}

// Short reasons for processes no rule decided.
const (
	ReasonNoArgv     = "no argv"
	ReasonNoName     = "no process name"
	ReasonYoung      = "too young"
	ReasonNotTagged  = "not tagged"
	reasonSelfParent = "own parent"
)

// cacheEntry is the cached rule decision for one (pid, starttime), valid
// while everything it was computed from is unchanged.
type cacheEntry struct {
	rev                  uint64
	ppid                 int
	processName, cmdline string
	tagFP, chainFP       uint64
	seen                 uint64 // tick of last use, for eviction
	valid                bool

	decision decision
	tags     []tags.Tag // last final tag list, reused when unchanged
}

// decision is the outcome of the rule list for one process.
type decision struct {
	rule *rule // nil: no rule decided
	name string
}

// Evaluator applies a Set to each tick's process list, caching rule
// decisions per (pid, starttime) so that a steady tick runs no regex. It
// is not safe for concurrent use; the zero value is not usable, use
// NewEvaluator.
type Evaluator struct {
	set        *Set
	taggedOnly bool
	parentRule bool // the set has parent_process_name rules
	tagRule    bool // the set has tag rules

	tick  uint64
	cache map[procid.Key]*cacheEntry

	// per-tick scratch, reused
	byPID   map[int]int32
	entries []*cacheEntry
	chainFP []uint64
	state   []uint8
	scratch []byte
	tagBuf  []tags.Tag

	// evals counts regex executions, for tests of the cache.
	evals uint64
}

// NewEvaluator returns an Evaluator for s; taggedOnly is
// os-proc-sync-tagged-only.
func NewEvaluator(s *Set, taggedOnly bool) *Evaluator {
	e := &Evaluator{set: s, taggedOnly: taggedOnly, cache: map[procid.Key]*cacheEntry{}, byPID: map[int]int32{}}
	for _, r := range s.rules {
		e.parentRule = e.parentRule || r.matchType == MatchParentProcessName
		e.tagRule = e.tagRule || r.matchType == MatchTag
	}
	return e
}

// Evaluate decides every process of one tick: procs is the whole process
// list (parents are looked up in it), the result has one Verdict per proc
// in the same order. Order of checks, as DeepFlow's get_all_process: no
// argv / no name → min-lifetime → rules (first match decides) →
// tagged-only → tag inheritance over the reported processes.
func (e *Evaluator) Evaluate(procs []Proc) []Verdict { return e.EvaluateInto(procs, nil) }

// EvaluateInto is Evaluate writing the verdicts into buf's array when it
// has room for them, for a caller that keeps a buffer from tick to tick.
func (e *Evaluator) EvaluateInto(procs []Proc, buf []Verdict) []Verdict {
	e.tick++
	e.index(procs)
	out := slices.Grow(buf[:0], len(procs))[:len(procs)]
	for i := range procs {
		out[i] = e.decide(procs, i)
	}
	e.inherit(procs, out)
	for k, ce := range e.cache {
		if ce.seen != e.tick {
			delete(e.cache, k)
		}
	}
	return out
}

func (e *Evaluator) index(procs []Proc) {
	clear(e.byPID)
	for i := range procs {
		if _, dup := e.byPID[procs[i].PID]; !dup {
			e.byPID[procs[i].PID] = int32(i)
		}
	}
	e.entries = slices.Grow(e.entries[:0], len(procs))[:len(procs)]
	clear(e.entries)
	if e.parentRule {
		e.chainFP = slices.Grow(e.chainFP[:0], len(procs))[:len(procs)]
		e.state = slices.Grow(e.state[:0], len(procs))[:len(procs)]
		clear(e.state)
		for i := range procs {
			e.chain(procs, i)
		}
	}
}

// chain fingerprints the ancestors a parent_process_name walk would see
// (identity and raw process_name of each eligible ancestor), so a cached
// decision is dropped when any of them changes.
func (e *Evaluator) chain(procs []Proc, i int) uint64 {
	switch e.state[i] {
	case 1: // cycle
		return 0
	case 2:
		return e.chainFP[i]
	}
	e.state[i] = 1
	h := uint64(fnvOffset)
	p := &procs[i]
	if j, ok := e.byPID[p.PPID]; ok && p.PPID != 0 && procs[j].eligible() {
		q := &procs[j]
		h = fnvInt(h, uint64(q.PID))
		h = fnvInt(h, q.StartTicks)
		h = fnvString(h, q.ProcessName)
		h = fnvInt(h, e.chain(procs, int(j)))
	}
	e.chainFP[i], e.state[i] = h, 2
	return h
}

func (e *Evaluator) decide(procs []Proc, i int) Verdict {
	p := &procs[i]
	switch {
	case !p.HasArgv:
		return Verdict{MatchedRule: NoRule, Reason: ReasonNoArgv}
	case p.ProcessName == "":
		return Verdict{MatchedRule: NoRule, Reason: ReasonNoName}
	case p.Young:
		return Verdict{MatchedRule: NoRule, Reason: ReasonYoung}
	}
	key := procid.Key{PID: p.PID, StartTicks: p.StartTicks}
	ce := e.cache[key]
	if ce == nil {
		ce = &cacheEntry{}
		e.cache[key] = ce
	}
	ce.seen = e.tick
	e.entries[i] = ce
	var tagFP, chainFP uint64
	if e.tagRule {
		tagFP = tagFingerprint(p)
	}
	if e.parentRule {
		chainFP = e.chainFP[i]
	}
	if !ce.valid || ce.rev != p.Rev || ce.ppid != p.PPID || ce.processName != p.ProcessName ||
		ce.cmdline != p.Cmdline || ce.tagFP != tagFP || ce.chainFP != chainFP {
		ce.decision = e.runRules(procs, i, nil)
		ce.rev, ce.ppid, ce.processName, ce.cmdline = p.Rev, p.PPID, p.ProcessName, p.Cmdline
		ce.tagFP, ce.chainFP, ce.valid = tagFP, chainFP, true
	}
	d := ce.decision
	if d.rule.drop {
		return Verdict{MatchedRule: d.rule.index, Reason: d.rule.dropReason}
	}
	if e.taggedOnly && !p.Tagged {
		return Verdict{MatchedRule: d.rule.index, Reason: ReasonNotTagged}
	}
	return Verdict{Reported: true, Name: d.name, MatchedRule: d.rule.index, Reason: d.rule.acceptReason}
}

// runRules is ProcRegRewrite::match_and_rewrite_proc over the list: the
// first rule that matches decides. The implicit last rule always matches,
// so the result always has a rule. tr, when not nil, records each step.
func (e *Evaluator) runRules(procs []Proc, i int, tr *trace) decision {
	p := &procs[i]
	rules := e.set.rules
	for k, r := range rules {
		// The implicit rule is last and always matches.
		if k < len(rules)-1 && !e.matchRule(r, procs, i, tr) {
			continue
		}
		if k == len(rules)-1 {
			tr.step(r, p.ProcessName, true)
		}
		tr.decided(r)
		d := decision{rule: r, name: p.ProcessName}
		if r.rewrites() {
			subject := p.ProcessName
			if r.matchType == MatchCmdline {
				subject = p.Cmdline
			}
			e.evals++
			d.name = r.tmpl.ReplaceAllString(subject)
			tr.rewrite(r, subject, d.name)
		}
		return d
	}
	return decision{}
}

func (e *Evaluator) matchRule(r *rule, procs []Proc, i int, tr *trace) bool {
	p := &procs[i]
	switch {
	case r.matchType == MatchProcessName:
		e.evals++
		ok := r.re.MatchString(p.ProcessName)
		tr.step(r, p.ProcessName, ok)
		return ok
	case r.matchType == MatchCmdline:
		e.evals++
		ok := r.re.MatchString(p.Cmdline)
		tr.step(r, p.Cmdline, ok)
		return ok
	case r.matchType == MatchTag:
		// DeepFlow formats "{key}:{value}" for each own tag.
		for _, t := range p.Tags {
			e.scratch = append(append(append(e.scratch[:0], t.Key...), ':'), t.Value...)
			e.evals++
			if r.re.Match(e.scratch) {
				tr.step(r, string(e.scratch), true)
				return true
			}
			tr.step(r, string(e.scratch), false)
		}
		if len(p.Tags) == 0 {
			tr.step(r, "", false)
		}
		return false
	}
	return e.matchParent(r, procs, i, tr)
}

// matchParent is DeepFlow's match_parent: from the parent upwards, test
// each ancestor's raw process_name; ppid 0 or a parent missing from the
// process list ends the walk without a match. DeepFlow recurses without a
// guard; here a walk that comes back to the process or runs longer than
// the list is a cycle and ends without a match.
func (e *Evaluator) matchParent(r *rule, procs []Proc, i int, tr *trace) bool {
	self := procs[i].PID
	cur := i
	for steps := 0; steps <= len(procs); steps++ {
		pp := procs[cur].PPID
		if pp == 0 {
			tr.walkEnd(r, "ppid 0")
			return false
		}
		j, ok := e.byPID[pp]
		if !ok || !procs[j].eligible() {
			tr.walkEnd(r, "parent missing")
			return false
		}
		q := &procs[j]
		if q.PID == self {
			tr.walkEnd(r, "cycle back to the process")
			return false
		}
		e.evals++
		matched := r.re.MatchString(q.ProcessName)
		tr.link(r, q, matched)
		if matched {
			return true
		}
		cur = int(j)
	}
	tr.walkEnd(r, "cycle")
	return false
}
