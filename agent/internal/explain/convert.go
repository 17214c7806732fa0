package explain

import (
	"strings"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/tags"
	"github.com/proctag/proctag/agent/internal/wasmhost"
)

// FromRules converts the rules' explanation of a process; Plugins is left
// for the caller.
func FromRules(x rules.Explanation) Process {
	p := Process{
		PID: x.PID, PPID: x.PPID, ProcessName: x.ProcessName, Cmdline: x.Cmdline,
		HasArgv: x.HasArgv, Young: x.Young, Tagged: x.Tagged, TaggedOnly: x.TaggedOnly,
		MinLifetime: x.MinLifetime, TaggedOnlyEffect: x.TaggedOnlyEffect,
		Verdict: Verdict{Reported: x.Verdict.Reported, Name: x.Verdict.Name, Reason: x.Verdict.Reason,
			MatchedRule: x.Verdict.MatchedRule},
		OwnTags:       fromTags(x.OwnTags),
		InheritedTags: fromTags(x.InheritedTags),
	}
	for _, s := range x.Steps {
		r := Rule{
			Index: s.Index, Skipped: s.Skipped, SkipReasons: s.SkipReasons,
			MatchType: s.MatchType, Action: s.Action, Regex: s.Regex, Matched: s.Matched,
			ChainEnd: s.ChainEnd, RewriteName: s.RewriteName, Template: s.Template,
			Result: s.Result, Matches: s.Matches, Note: s.Note,
		}
		for _, t := range s.Tests {
			ft := Test{Subject: t.Subject, Matched: t.Matched}
			for _, c := range t.Captures {
				ft.Captures = append(ft.Captures, Capture{Group: c.Group, Name: c.Name, Value: c.Value, Matched: c.Matched})
			}
			r.Tests = append(r.Tests, ft)
		}
		for _, l := range s.Chain {
			r.Chain = append(r.Chain, Link{PID: l.PID, ProcessName: l.ProcessName, Matched: l.Matched})
		}
		p.Rules = append(p.Rules, r)
	}
	return p
}

func fromTags(ts []tags.Tag) []Tag {
	out := make([]Tag, len(ts))
	for i, t := range ts {
		out[i] = Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

// FromABITags converts a plugin result's tags.
func FromABITags(ts []abi.Tag) []Tag {
	if len(ts) == 0 {
		return nil
	}
	out := make([]Tag, len(ts))
	for i, t := range ts {
		out[i] = Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

// FromEffect converts the plugin host's record of one plugin's effect; a
// tenant's plugin, named TENANT/NAME there, gets Plugin NAME and Tenant
// TENANT.
func FromEffect(e wasmhost.Effect) Effect {
	out := FromResult(e.Plugin, e.Result, e.Err)
	if tenant, name, ok := strings.Cut(e.Plugin, "/"); ok {
		out.Plugin, out.Tenant = name, tenant
	}
	out.Called, out.Skipped = e.Called, e.Skipped
	return out
}

// FromResult is the effect of one plugin result r and the error of its
// call (nil when none).
func FromResult(plugin string, r abi.Result, err error) Effect {
	out := Effect{
		Plugin: plugin, Rename: r.Rename, HasRename: r.HasRename,
		SetTags: FromABITags(r.SetTags), RemoveTags: r.RemoveTags, Drop: r.Drop,
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}
