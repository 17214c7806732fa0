package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk"
)

const exampleConfig = `[
 {"match": "^(java|billing)$", "tags": {"acme.io/team": "payments", "acme.io/tier": "1"}},
 {"match": "nginx", "on": "process_name", "tags": {"acme.io/team": "edge"}},
 {"match": "--env=prod", "on": "cmdline", "tags": {"acme.io/env": "prod", "acme.io/tier": "0"}}
]`

func mustRules(t *testing.T, config string) []rule {
	t.Helper()
	rules, err := parseConfig([]byte(config))
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	return rules
}

func TestApply(t *testing.T) {
	rules := mustRules(t, exampleConfig)
	tests := []struct {
		name string
		rec  abi.Record
		want []abi.Tag
	}{
		{"matches on name", abi.Record{Name: "billing", ProcessName: "java"},
			[]abi.Tag{{Key: "acme.io/team", Value: "payments"}, {Key: "acme.io/tier", Value: "1"}}},
		{"process_name rule ignores the name", abi.Record{Name: "frontend", ProcessName: "nginx"},
			[]abi.Tag{{Key: "acme.io/team", Value: "edge"}}},
		{"later rule wins for the same key", abi.Record{Name: "java", Cmdline: "java -jar x.jar --env=prod"},
			[]abi.Tag{{Key: "acme.io/team", Value: "payments"}, {Key: "acme.io/tier", Value: "0"}, {Key: "acme.io/env", Value: "prod"}}},
		{"nothing matches", abi.Record{Name: "sshd", ProcessName: "sshd"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out sdk.Result
			apply(rules, &sdk.Process{Record: tt.rec}, &out)
			if got := out.Tags(); !(len(got) == 0 && len(tt.want) == 0) && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tags = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"empty", "", "config is empty"},
		{"YAML text instead of a list", "- match: x", "not a list of rules"},
		{"unknown key", `[{"match": "x", "tag": {"a": "b"}}]`, `unknown field "tag"`},
		{"bad regex", `[{"match": "(", "tags": {"a": "b"}}]`, "config[0]: match: error parsing regexp"},
		{"bad on", `[{"match": "x", "on": "exe", "tags": {"a": "b"}}]`, `config[0]: on: "exe" is not name, process_name or cmdline`},
		{"no tags", `[{"match": "x"}]`, "config[0]: tags: empty"},
		{"colon in key", `[{"match": "x", "tags": {"a:b": "c"}}]`, `key "a:b": only letters`},
		{"control char in value", `[{"match": "x", "tags": {"a": "b\u0007"}}]`, "control character"},
		{"every bad rule reported", `[{"match": "("}, {"match": "x", "on": "y", "tags": {"a": "b"}}]`, "config[1]: on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig([]byte(tt.config))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseConfig error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// FuzzParseConfig checks that any config either fails with an error or
// gives rules whose tags pass the agent's key and value checks.
func FuzzParseConfig(f *testing.F) {
	f.Add(exampleConfig)                                    // the README's example
	f.Add(`[]`)                                             // no rules
	f.Add(`[{"match": "", "tags": {"k": ""}}]`)             // empty regex and value
	f.Add(`[{"match": "x", "tags": {"k": "v"}}, null]`)     // a null rule
	f.Add(`[{"match": "\\p{Greek}+", "tags": {"k": "é"}}]`) // unicode
	f.Fuzz(func(t *testing.T, config string) {
		rules, err := parseConfig([]byte(config))
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.re == nil {
				t.Fatal("rule without a regexp")
			}
			for _, tag := range r.tags {
				if checkTag(tag.Key, tag.Value) != nil {
					t.Errorf("tag %v passed init but is invalid", tag)
				}
			}
		}
	})
}
