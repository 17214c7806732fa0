package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/proctag/proctag/agent/internal/explain"
)

// ExplanationJSON writes x as one indented JSON object followed by a
// newline: `proctag explain --format json`.
func ExplanationJSON(w io.Writer, x explain.Process) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

// Explanation writes x for people: the process, each rule tried with the
// texts its regex ran on, the verdict and the tags, then each plugin's
// effect and the outcome after the plugins.
func Explanation(w io.Writer, x explain.Process) error {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d (ppid %d) process_name %q\ncmdline %q\n", x.PID, x.PPID, x.ProcessName, x.Cmdline)
	switch {
	case !x.HasArgv:
		b.WriteString("no argv (kernel thread or empty cmdline): never reported, not a parent\n")
	case x.ProcessName == "":
		b.WriteString("argv[0] gives no process name: never reported, not a parent\n")
	}
	for _, r := range x.Rules {
		writeRule(&b, r)
	}
	if x.MinLifetime != "" {
		fmt.Fprintf(&b, "min-lifetime: %s\n", x.MinLifetime)
	}
	if x.TaggedOnlyEffect != "" {
		fmt.Fprintf(&b, "tagged-only: %s\n", x.TaggedOnlyEffect)
	}
	if v := x.Verdict; v.Reported {
		fmt.Fprintf(&b, "verdict: reported as %q (%s)\n", v.Name, v.Reason)
	} else {
		fmt.Fprintf(&b, "verdict: not reported (%s)\n", v.Reason)
	}
	fmt.Fprintf(&b, "tags: own %s, inherited %s\n", tagList(x.OwnTags), tagList(x.InheritedTags))
	writePlugins(&b, x.Plugins)
	_, err := io.WriteString(w, Printable(b.String(), "\n"))
	return err
}

func writeRule(b *strings.Builder, r explain.Rule) {
	name := fmt.Sprintf("rule %d", r.Index)
	if r.Index == explain.ImplicitRule {
		name = "implicit accept-all rule"
	}
	if r.Skipped {
		fmt.Fprintf(b, "%s: skipped\n", name)
		for _, s := range r.SkipReasons {
			fmt.Fprintf(b, "  %s\n", s)
		}
		return
	}
	fmt.Fprintf(b, "%s: %s %s match-regex %q: ", name, r.Action, r.MatchType, r.Regex)
	if r.Matched {
		b.WriteString("matched\n")
	} else {
		b.WriteString("no match\n")
	}
	for _, t := range r.Tests {
		mark := "no match"
		if t.Matched {
			mark = "match"
		}
		fmt.Fprintf(b, "  %q: %s", t.Subject, mark)
		for _, c := range t.Captures {
			if c.Group == 0 {
				continue
			}
			label := fmt.Sprintf("$%d", c.Group)
			if c.Name != "" {
				label += "/" + c.Name
			}
			if c.Matched {
				fmt.Fprintf(b, " %s=%q", label, c.Value)
			} else {
				fmt.Fprintf(b, " %s unset", label)
			}
		}
		b.WriteByte('\n')
	}
	if len(r.Chain) > 0 || r.ChainEnd != "" {
		b.WriteString("  parent chain:")
		for _, l := range r.Chain {
			fmt.Fprintf(b, " %d(%s)", l.PID, l.ProcessName)
		}
		if r.ChainEnd != "" {
			fmt.Fprintf(b, " then %s", r.ChainEnd)
		}
		b.WriteByte('\n')
	}
	if r.Template != "" {
		fmt.Fprintf(b, "  rewrite-name %q -> template %q, %d match(es) replaced -> %q\n",
			r.RewriteName, r.Template, r.Matches, r.Result)
	}
	if r.Note != "" {
		fmt.Fprintf(b, "  %s\n", r.Note)
	}
}

// tagList is "k=v, k=v", or "none".
func tagList(ts []explain.Tag) string {
	if len(ts) == 0 {
		return "none"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = Printable(t.Key+"="+t.Value, "")
	}
	return strings.Join(parts, ", ")
}

func writePlugins(b *strings.Builder, p explain.Plugins) {
	switch p.State {
	case explain.PluginsNone:
		b.WriteString("plugins: none configured\n")
		return
	case explain.PluginsNotCalled:
		b.WriteString("plugins: not called (the rules did not accept the process)\n")
		return
	case explain.PluginsNoOutput:
		b.WriteString("plugins: no output\n")
		return
	}
	b.WriteString("plugins:\n")
	for _, e := range p.Effects {
		writeEffect(b, e)
	}
	fmt.Fprintf(b, "after plugins: name=%q drop=%v\n", p.Name, p.Drop)
	kv := make([]string, len(p.Tags))
	for i, t := range p.Tags {
		kv[i] = Printable(t.Key+"="+t.Value, "")
	}
	fmt.Fprintf(b, "tags after plugins: %s\n", strings.Join(kv, " "))
}

// writeEffect writes one plugin's effect on one line.
func writeEffect(b *strings.Builder, e explain.Effect) {
	if e.Tenant != "" {
		fmt.Fprintf(b, "  %s (tenant %s):", e.Plugin, e.Tenant)
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
	b.WriteString(EffectChanges(e))
	if e.Error != "" {
		fmt.Fprintf(b, " (kept previous result: %s)", Printable(e.Error, ""))
	}
	b.WriteString("\n")
}

// EffectChanges is what a plugin result changes, as explain prints it:
// `, rename to "x", set tag k="v", remove tag k, drop` or `, no change`.
func EffectChanges(e explain.Effect) string {
	var b strings.Builder
	if e.HasRename {
		fmt.Fprintf(&b, ", rename to %q", e.Rename)
	}
	for _, t := range e.SetTags {
		fmt.Fprintf(&b, ", set tag %s=%q", t.Key, t.Value)
	}
	for _, k := range e.RemoveTags {
		fmt.Fprintf(&b, ", remove tag %s", k)
	}
	if e.Drop {
		b.WriteString(", drop")
	}
	if !e.Changed() {
		b.WriteString(", no change")
	}
	return b.String()
}
