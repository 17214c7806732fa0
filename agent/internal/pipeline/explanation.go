package pipeline

import (
	"cmp"
	"slices"
	"strings"

	"github.com/proctag/proctag/agent/internal/explain"
	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/rules"
)

// Explanation is how the process pid was decided in the last Tick, as a
// value for `proctag explain` (package render prints it): the rules tried
// and the one that decided, then what each plugin did. It needs a Tick
// first (one that failed after its rules and plugins decided counts); ok
// is false when the last tick did not see pid.
func (p *Pipeline) Explanation(pid int) (x explain.Process, ok bool) {
	if p.last == nil {
		return x, false
	}
	ex, ok := p.eval.Explain(p.last.procs, pid)
	if !ok {
		return x, false
	}
	x = explain.FromRules(ex)
	idx := slices.IndexFunc(p.last.procs, func(pr rules.Proc) bool { return pr.PID == pid })
	out, plugged := p.last.plugins[idx]
	switch {
	case p.cfg.Plugins == nil:
		x.Plugins.State = explain.PluginsNone
	case !p.last.verdicts[idx].Reported:
		x.Plugins.State = explain.PluginsNotCalled
	case !plugged:
		x.Plugins.State = explain.PluginsNoOutput
	default:
		x.Plugins = explain.Plugins{State: explain.PluginsApplied, Name: out.Name, Drop: out.Drop,
			Tags: explain.FromABITags(out.Tags)}
		for _, e := range out.Effects {
			x.Plugins.Effects = append(x.Plugins.Effects, explain.FromEffect(e))
		}
		slices.SortFunc(x.Plugins.Tags, func(a, b explain.Tag) int {
			return cmp.Compare(a.Key+"="+a.Value, b.Key+"="+b.Value)
		})
	}
	redactExplanation(&x, p.cfg.Redactor)
	return x, true
}

// redactExplanation applies cmdline-redact (red, nil for none) to what x
// shows of the process's command line, as the snapshot does: its process
// name and cmdline, the texts the rules ran on and the names the rules and
// plugins gave it. A capture that the redacted text no longer shows is
// masked whole: a secret captured alone would not be recognised.
func redactExplanation(x *explain.Process, red *redact.Redactor) {
	if red == nil {
		return
	}
	x.ProcessName, x.Cmdline, x.Verdict.Name = red.Cmdline(x.ProcessName), red.Cmdline(x.Cmdline), red.Cmdline(x.Verdict.Name)
	for i := range x.Rules {
		r := &x.Rules[i]
		r.Result = red.Cmdline(r.Result)
		for j := range r.Tests {
			t := &r.Tests[j]
			t.Subject = red.Cmdline(t.Subject)
			for k := range t.Captures {
				if c := &t.Captures[k]; !strings.Contains(t.Subject, c.Value) {
					c.Value = redact.Mask
				}
			}
		}
		for j := range r.Chain {
			r.Chain[j].ProcessName = red.Cmdline(r.Chain[j].ProcessName)
		}
	}
	x.Plugins.Name = red.Cmdline(x.Plugins.Name)
	for i := range x.Plugins.Effects {
		x.Plugins.Effects[i].Rename = red.Cmdline(x.Plugins.Effects[i].Rename)
	}
}
