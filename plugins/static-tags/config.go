package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk"
)

// rule is one compiled config entry.
type rule struct {
	re   *regexp.Regexp
	on   string    // name, process_name or cmdline
	tags []abi.Tag // sorted by key, so the output is stable
}

// subject is the field of p the rule matches.
func (r *rule) subject(p *sdk.Process) string {
	switch r.on {
	case "process_name":
		return p.ProcessName
	case "cmdline":
		return p.Cmdline
	}
	return p.Name
}

// ruleSpec is a config entry as written.
type ruleSpec struct {
	Match string            `json:"match"`
	On    string            `json:"on"`
	Tags  map[string]string `json:"tags"`
}

// parseConfig decodes and checks the config: a JSON list of rules. Errors
// name the rule by its position and say what is allowed; encoding/json runs
// only here, never per record.
func parseConfig(config []byte) ([]rule, error) {
	config = bytes.TrimSpace(config)
	if len(config) == 0 {
		return nil, errors.New("config is empty; give a list of rules with match, on and tags")
	}
	if config[0] != '[' {
		return nil, errors.New("config is not a list of rules; write it as a YAML list in the manifest (the agent passes it as JSON)")
	}
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.DisallowUnknownFields()
	var specs []ruleSpec
	if err := dec.Decode(&specs); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	rules := make([]rule, 0, len(specs))
	var errs []error
	for i, s := range specs {
		r, err := compileRule(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("config[%d]: %w", i, err))
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

func compileRule(s ruleSpec) (rule, error) {
	r := rule{on: s.On}
	switch s.On {
	case "":
		r.on = "name"
	case "name", "process_name", "cmdline":
	default:
		return r, fmt.Errorf("on: %q is not name, process_name or cmdline", s.On)
	}
	re, err := regexp.Compile(s.Match)
	if err != nil {
		return r, fmt.Errorf("match: %w", err)
	}
	r.re = re
	if len(s.Tags) == 0 {
		return r, errors.New("tags: empty; a rule must set at least one tag")
	}
	for k, v := range s.Tags {
		if err := checkTag(k, v); err != nil {
			return r, fmt.Errorf("tags: %w", err)
		}
		r.tags = append(r.tags, abi.Tag{Key: k, Value: v})
	}
	slices.SortFunc(r.tags, func(a, b abi.Tag) int { return strings.Compare(a.Key, b.Key) })
	return r, nil
}

// checkTag applies the agent's rules for keys and values (abi/ABI.md,
// section 6) at init, so a bad config fails to load instead of faulting on
// every process. The prefix is the agent's to check.
func checkTag(k, v string) error {
	if k == "" || len(k) > 128 {
		return fmt.Errorf("key %q: must have 1 to 128 bytes", k)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '/') {
			return fmt.Errorf("key %q: only letters, digits, _ . - / are allowed (no ':')", k)
		}
	}
	if len(v) > 1024 || !utf8.ValidString(v) {
		return fmt.Errorf("value of %q: must be valid UTF-8 of at most 1024 bytes", k)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("value of %q: has a control character", k)
		}
	}
	return nil
}
