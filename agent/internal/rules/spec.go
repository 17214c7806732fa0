package rules

// Spec is one os-proc-regex entry as written in the config, before
// compilation. It is the parsed form only; Compile turns a list of Specs into
// a *Set. An omitted key is the empty string, as in DeepFlow's agent.
type Spec struct {
	// MatchRegex is match-regex; "" when omitted (matches everything).
	MatchRegex string `yaml:"match-regex"`
	// MatchType is match-type: "" or process_name, cmdline,
	// parent_process_name, tag.
	MatchType string `yaml:"match-type"`
	// Action is action: "" or accept, drop.
	Action string `yaml:"action"`
	// RewriteName is rewrite-name, before %ENV% expansion.
	RewriteName string `yaml:"rewrite-name"`

	// File and Line locate the rule in the config, for messages; zero
	// when the rule did not come from a file.
	File string `yaml:"-"`
	Line int    `yaml:"-"`
	// RegexLine, TypeLine and ActionLine are the lines of the values of
	// match-regex, match-type and action, 0 when omitted; an error about a
	// key points at its line rather than the rule's.
	RegexLine, TypeLine, ActionLine int `yaml:"-"`
}
