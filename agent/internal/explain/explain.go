package explain

import (
	"github.com/proctag/proctag/agent/internal/rules"
)

// Process is how one process, as the last tick saw it, was decided: its
// inputs, the rules tried in order up to the one that decided, the
// verdict, then the plugins.
type Process struct {
	// PID, PPID, ProcessName and Cmdline are the process's inputs;
	// HasArgv is false for a kernel thread or an empty cmdline, Young is
	// true when it is younger than os-proc-socket-min-lifetime, Tagged
	// when os-app-tag-exec listed it; TaggedOnly is
	// os-proc-sync-tagged-only.
	PID         int    `json:"pid"`
	PPID        int    `json:"ppid"`
	ProcessName string `json:"process_name"`
	Cmdline     string `json:"cmdline"`
	HasArgv     bool   `json:"has_argv"`
	Young       bool   `json:"young"`
	Tagged      bool   `json:"tagged"`
	TaggedOnly  bool   `json:"tagged_only"`
	// Rules are the rules tried, in order, up to the one that decided,
	// skipped (invalid) rules included.
	Rules []Rule `json:"rules"`
	// MinLifetime and TaggedOnlyEffect say how those settings changed the
	// outcome, "" when they did not.
	MinLifetime      string `json:"min_lifetime,omitempty"`
	TaggedOnlyEffect string `json:"tagged_only_effect,omitempty"`
	// Verdict is what the rules decided.
	Verdict Verdict `json:"verdict"`
	// OwnTags are the process's own tag-exec tags, InheritedTags those it
	// got from its reported ancestors.
	OwnTags       []Tag `json:"own_tags"`
	InheritedTags []Tag `json:"inherited_tags"`
	// Plugins is what the plugins did after the rules.
	Plugins Plugins `json:"plugins"`
}

// ImplicitRule is Rule.Index of the accept-all rule appended to
// os-proc-regex.
const ImplicitRule = rules.ImplicitRule

// NoRule is Verdict.MatchedRule of a process no rule was tried on (no
// argv, no process name).
const NoRule = rules.NoRule

// Rule is one rule tried on the process.
type Rule struct {
	// Index is the rule's position in os-proc-regex, ImplicitRule for the
	// appended accept-all rule.
	Index int `json:"index"`
	// Skipped rules were invalid and never tried; SkipReasons say why.
	Skipped     bool     `json:"skipped,omitempty"`
	SkipReasons []string `json:"skip_reasons,omitempty"`
	// MatchType, Action and Regex are the rule's keys as written.
	MatchType string `json:"match_type"`
	Action    string `json:"action"`
	Regex     string `json:"match_regex"`
	// Matched reports that one of Tests matched.
	Matched bool `json:"matched"`
	// Tests are the texts the regex ran on: the subject for process_name
	// and cmdline, each "key:value" for tag, each ancestor's process_name
	// for parent_process_name (see Chain).
	Tests []Test `json:"tests,omitempty"`
	// Chain is the parent walk of a parent_process_name rule; ChainEnd
	// says why it stopped without a match.
	Chain    []Link `json:"chain,omitempty"`
	ChainEnd string `json:"chain_end,omitempty"`
	// RewriteName is rewrite-name as written, Template after %VAR%
	// expansion, Result the new name, Matches how many matches were
	// replaced; all empty when the rule does not rewrite.
	RewriteName string `json:"rewrite_name,omitempty"`
	Template    string `json:"template,omitempty"`
	Result      string `json:"result,omitempty"`
	Matches     int    `json:"matches,omitempty"`
	// Note tells what the rule ignored, such as rewrite-name on a drop.
	Note string `json:"note,omitempty"`
}

// Test is one regex run.
type Test struct {
	// Subject is the text the regex ran on; Matched the outcome; Captures
	// the groups of the first match (group 0 first), when it matched.
	Subject  string    `json:"subject"`
	Matched  bool      `json:"matched"`
	Captures []Capture `json:"captures,omitempty"`
}

// Capture is one group of the first match.
type Capture struct {
	// Group is the group number, Name its name or ""; Matched is false for
	// a group that did not take part (it expands to "").
	Group   int    `json:"group"`
	Name    string `json:"name,omitempty"`
	Value   string `json:"value"`
	Matched bool   `json:"matched"`
}

// Link is one ancestor a parent_process_name rule tested.
type Link struct {
	PID         int    `json:"pid"`
	ProcessName string `json:"process_name"`
	Matched     bool   `json:"matched"`
}

// Verdict is what the rules decided.
type Verdict struct {
	// Reported: the process is published. Name is its name after
	// rewrite-name; Reason says why, briefly ("accepted by rule 2").
	Reported bool   `json:"reported"`
	Name     string `json:"name,omitempty"`
	Reason   string `json:"reason"`
	// MatchedRule is the index of the rule that decided, ImplicitRule
	// for the accept-all rule, NoRule when no rule was tried.
	MatchedRule int `json:"matched_rule"`
}

// Tag is one key and value.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// PluginsState says whether and how the plugins saw the process.
type PluginsState string

// The states of Plugins.
const (
	// PluginsNone: no plugins are configured.
	PluginsNone PluginsState = "none"
	// PluginsNotCalled: the rules did not accept the process.
	PluginsNotCalled PluginsState = "not_called"
	// PluginsNoOutput: accepted, but the plugins gave nothing for it.
	PluginsNoOutput PluginsState = "no_output"
	// PluginsApplied: Effects, Name, Drop and Tags are filled.
	PluginsApplied PluginsState = "applied"
)

// Plugins is what the plugins did to the process.
type Plugins struct {
	State PluginsState `json:"state"`
	// Effects has one entry per plugin, in the order they apply.
	Effects []Effect `json:"effects,omitempty"`
	// Name, Drop and Tags are the outcome after every plugin.
	Name string `json:"name,omitempty"`
	Drop bool   `json:"drop,omitempty"`
	Tags []Tag  `json:"tags,omitempty"`
}

// Effect is what one plugin did to the process; it is also the shape of
// one call's outcome in `proctag plugin test`.
type Effect struct {
	// Plugin is the plugin's name; Tenant the tenant it belongs to, ""
	// for the operator's.
	Plugin string `json:"plugin"`
	Tenant string `json:"tenant,omitempty"`
	// Skipped says why the plugin was not applied at all ("out of
	// scope", "dropped"); "" otherwise.
	Skipped string `json:"skipped,omitempty"`
	// Called reports that the plugin ran for the process in this tick;
	// false means the cached result was reused.
	Called bool `json:"called"`
	// Rename, when HasRename, is the new name; SetTags, RemoveTags and
	// Drop are the rest of the result applied.
	Rename     string   `json:"rename,omitempty"`
	HasRename  bool     `json:"has_rename,omitempty"`
	SetTags    []Tag    `json:"set_tags,omitempty"`
	RemoveTags []string `json:"remove_tags,omitempty"`
	Drop       bool     `json:"drop,omitempty"`
	// Error is the fault or grant violation of the call, whose output was
	// not applied (the previous result was kept); "" when none.
	Error string `json:"error,omitempty"`
}

// Changed reports whether the effect's result changes anything.
func (e Effect) Changed() bool {
	return e.HasRename || len(e.SetTags) > 0 || len(e.RemoveTags) > 0 || e.Drop
}
