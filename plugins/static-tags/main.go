// Command static-tags is a proctag plugin that tags processes from a list
// of rules in its config — the sandboxed replacement for an
// os-app-tag-exec script that maps names to teams, tiers or owners.
//
// Config (YAML in the manifest; the agent passes it to init as JSON):
//
//	config:
//	  - match: ^(java|billing)$      # Go regexp, unanchored like os-proc-regex
//	    on: name                     # name (default), process_name or cmdline
//	    tags: {acme.io/team: payments, acme.io/tier: "1"}
//	  - match: nginx
//	    on: process_name
//	    tags: {acme.io/team: edge}
//
// Every matching rule applies, in order; a later rule's value wins for the
// same key. The config is parsed and checked once at init; a record only
// runs the compiled regexps.
package main

import (
	"github.com/proctag/proctag/sdk"
)

func main() {}

// active is the compiled config; init replaces it.
var active []rule

func init() {
	sdk.OnInit(func(config []byte) error {
		rules, err := parseConfig(config)
		if err != nil {
			return err
		}
		active = rules
		return nil
	})
	sdk.Handle(func(p *sdk.Process, out *sdk.Result) { apply(active, p, out) })
}

// apply sets the tags of every rule of rules that matches p.
func apply(rules []rule, p *sdk.Process, out *sdk.Result) {
	for i := range rules {
		r := &rules[i]
		if !r.re.MatchString(r.subject(p)) {
			continue
		}
		for _, t := range r.tags {
			out.SetTag(t.Key, t.Value)
		}
	}
}
