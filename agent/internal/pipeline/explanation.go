package pipeline

import (
	"cmp"
	"slices"

	"github.com/proctag/proctag/agent/internal/explain"
	"github.com/proctag/proctag/agent/internal/rules"
)

// Explanation is how the process pid was decided in the last Tick, as a
// value for `proctag explain` (package render prints it): the rules tried
// and the one that decided, then what each plugin did. It needs a Tick
// first; ok is false when the last tick did not see pid.
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
	return x, true
}
