package pipeline

import (
	"fmt"
	"sort"
	"strings"

	"github.com/proctag/proctag/agent/internal/wasmhost"
)

// Explain describes, for the process pid as the last Tick saw it, which
// rules were tried and which decided, then what each plugin did. It needs a
// Tick first; ok is false when the last tick did not see pid.
func (p *Pipeline) Explain(pid int) (text string, ok bool) {
	if p.last == nil {
		return "", false
	}
	ex, ok := p.eval.Explain(p.last.procs, pid)
	if !ok {
		return "", false
	}
	var b strings.Builder
	b.WriteString(ex.String())
	idx := -1
	for i, pr := range p.last.procs {
		if pr.PID == pid {
			idx = i
			break
		}
	}
	out, plugged := p.last.plugins[idx]
	switch {
	case p.cfg.Plugins == nil:
		b.WriteString("plugins: none configured\n")
	case !p.last.verdicts[idx].Reported:
		b.WriteString("plugins: not called (the rules did not accept the process)\n")
	case !plugged:
		b.WriteString("plugins: no output\n")
	default:
		b.WriteString("plugins:\n")
		for _, e := range out.Effects {
			writeEffect(&b, e)
		}
		fmt.Fprintf(&b, "after plugins: name=%q drop=%v\n", out.Name, out.Drop)
		keys := make([]string, 0, len(out.Tags))
		for _, t := range out.Tags {
			keys = append(keys, t.Key+"="+t.Value)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "tags after plugins: %s\n", strings.Join(keys, " "))
	}
	return b.String(), true
}

// writeEffect prints one plugin's effect on the process.
func writeEffect(b *strings.Builder, e wasmhost.Effect) {
	if tenant, name, ok := strings.Cut(e.Plugin, "/"); ok {
		fmt.Fprintf(b, "  %s (tenant %s):", name, tenant)
	} else {
		fmt.Fprintf(b, "  %s:", e.Plugin)
	}
	switch {
	case e.Skipped != "":
		fmt.Fprintf(b, " skipped (%s)\n", e.Skipped)
		return
	case e.Called:
		b.WriteString(" called")
	default:
		b.WriteString(" cached result")
	}
	r := e.Result
	if r.HasRename {
		fmt.Fprintf(b, ", rename to %q", r.Rename)
	}
	for _, t := range r.SetTags {
		fmt.Fprintf(b, ", set tag %s=%q", t.Key, t.Value)
	}
	for _, k := range r.RemoveTags {
		fmt.Fprintf(b, ", remove tag %s", k)
	}
	if r.Drop {
		b.WriteString(", drop")
	}
	if !r.HasRename && len(r.SetTags) == 0 && len(r.RemoveTags) == 0 && !r.Drop {
		b.WriteString(", no change")
	}
	if e.Err != nil {
		fmt.Fprintf(b, " (kept previous result: %v)", e.Err)
	}
	b.WriteString("\n")
}
