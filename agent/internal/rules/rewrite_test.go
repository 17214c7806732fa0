package rules

import (
	"testing"
)

// DESIGN.md "rewrite-name": "The result is a regex replacement template:
// the name becomes the subject with every match replaced and unmatched text
// kept ... Templates: $1, $name, ${name}, $$; an unbraced name is the
// longest run of [0-9A-Za-z_]; a missing group is empty. Empty rewrite →
// name stays process_name, also for cmdline matches ... An empty regex with
// a rewrite inserts the template around every character, as the Rust regex
// engine does; empty matches behave as Rust's replace_all does."
// Expected values are what regex 1.8's Regex::replace_all returns.
func TestRewrite(t *testing.T) {
	tests := []struct {
		name                 string
		regex, typ, rewrite  string
		processName, cmdline string
		env                  map[string]string
		wantName             string
	}{
		{"docs example: python script", `python3 (.*)\.py`, "cmdline", "$1-py-script",
			"python3", "python3 /srv/app/billing.py --port 80", nil, "/srv/app/billing-py-script --port 80"},
		{"every match is replaced", "a", "", "o", "banana", "banana", nil, "bonono"},
		{"unmatched text is kept", "^java", "", "jvm", "java-8", "java-8", nil, "jvm-8"},
		{"$1", `^(\w+)-(\d+)$`, "", "$2.$1", "app-42", "app-42", nil, "42.app"},
		{"$1a is the group named 1a, empty", `^(\w+)$`, "", "$1a", "app", "app", nil, ""},
		{"${1}a", `^(\w+)$`, "", "${1}a", "app", "app", nil, "appa"},
		{"$name", `^(?P<svc>[a-z]+)d$`, "", "$svc-daemon", "sshd", "sshd", nil, "ssh-daemon"},
		{"${name} with angle-bracket group", `^(?<svc>[a-z]+)d$`, "", "${svc}_d", "sshd", "sshd", nil, "ssh_d"},
		{"$name_x takes the whole run", `^(?P<svc>[a-z]+)d$`, "", "$svc_x", "sshd", "sshd", nil, ""},
		{"$$ is a dollar", `^(\w+)$`, "", "$$$1", "app", "app", nil, "$app"},
		{"a lone $ stays", `^(\w+)$`, "", "$1 costs $", "app", "app", nil, "app costs $"},
		{"$- stays", `^(\w+)$`, "", "$-$1", "app", "app", nil, "$-app"},
		{"unclosed ${ stays", `^(\w+)$`, "", "${1", "app", "app", nil, "${1"},
		{"missing group number is empty", `^(\w+)$`, "", "[$7]", "app", "app", nil, "[]"},
		{"missing group name is empty", `^(\w+)$`, "", "[$nope]", "app", "app", nil, "[]"},
		{"${+1} is group 1 (u32 parse)", `^(\w+)$`, "", "${+1}", "app", "app", nil, "app"},
		{"${01} is group 1", `^(\w+)$`, "", "${01}", "app", "app", nil, "app"},
		{"non-participating group is empty", `^(x)?(app)$`, "", "[$1|$2]", "app", "app", nil, "[|app]"},
		{"empty rewrite keeps process_name on a cmdline match", "billing", "cmdline", "",
			"python3", "python3 billing.py", nil, "python3"},
		{"empty regex inserts around every character", "", "", "-", "ab", "ab", nil, "-a-b-"},
		{"empty regex on UTF-8 steps by character", "", "", "-", "né", "né", nil, "-n-é-"},
		{"no empty match right after a match", "b*", "", "-", "abc", "abc", nil, "-a-c-"},
		{"empty match after a non-empty one at the end", "c*", "", "-", "abc", "abc", nil, "-a-b-"},
		{".* matches the whole name then the empty end is skipped", ".*", "", "x", "abc", "abc", nil, "x"},
		{"%VAR% expands at load", "^(.*)$", "", "%APP%-$1", "nginx", "nginx", map[string]string{"APP": "edge"}, "edge-nginx"},
		{"rewrite expanding to empty keeps process_name", "nginx", "", "%UNSET%", "nginx", "nginx", nil, "nginx"},
		{"rewrite on a drop rule is not applied", "nginx", "", "x", "nginx", "nginx", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action := ""
			if tt.name == "rewrite on a drop rule is not applied" {
				action = "drop"
			}
			s := mustCompile(t, []Spec{{MatchRegex: tt.regex, MatchType: tt.typ, RewriteName: tt.rewrite, Action: action}}, mapEnv(tt.env))
			v := NewEvaluator(s, false).Evaluate([]Proc{p(10, 1, tt.processName, tt.cmdline)})[0]
			if v.Name != tt.wantName || v.MatchedRule != 0 {
				t.Fatalf("name = %q (rule %d), want %q (rule 0)", v.Name, v.MatchedRule, tt.wantName)
			}
		})
	}
}

// DESIGN.md "rewrite-name": "%VAR% is expanded once at load time from the
// agent's environment (unset → empty; %% → empty; a name broken by a space,
// =, tab or newline is left literally; a dangling % at the end is
// dropped)." The scan is envmnt's expand_by_wrapper (see env.go).
func TestExpandEnv(t *testing.T) {
	env := mapEnv(map[string]string{"A": "alpha", "B": "beta", "EMPTY": ""})
	tests := []struct {
		name, in, want string
	}{
		{"no percent is unchanged", "$1-svc", "$1-svc"},
		{"set variable", "%A%", "alpha"},
		{"inside text", "x-%A%-y", "x-alpha-y"},
		{"two variables", "%A%%B%", "alphabeta"},
		{"unset is empty", "x%NOPE%y", "xy"},
		{"set but empty", "x%EMPTY%y", "xy"},
		{"%% is empty", "a%%b", "ab"},
		{"space breaks the name", "%A B%", "%A B"},
		{"= breaks the name, the next % opens again", "%A=B%x", "%A=B%x"},
		{"tab breaks the name", "%A\tB", "%A\tB"},
		{"newline breaks the name", "%A\nB", "%A\nB"},
		{"carriage return breaks the name", "%A\rB", "%A\rB"},
		{"dangling % at the end is dropped", "abc%", "abc"},
		{"open name at the end is kept", "abc%A", "abc%A"},
		{"pairs left to right", "%A%B%", "alphaB"},
		{"unicode text around", "é%A%ü", "éalphaü"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := expandEnv(tt.in, env)
			if got != tt.want {
				t.Fatalf("expandEnv(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got, _ := expandEnv("%A%x", nil); got != "x" {
		t.Fatalf("nil env: got %q, want %q", got, "x")
	}
}

// FuzzExpandEnv: never panics, text without '%' is unchanged, the result
// never grows beyond input plus the values.
func FuzzExpandEnv(f *testing.F) {
	f.Add("%A%")         // plain variable
	f.Add("%%")          // empty name
	f.Add("%A B%")       // broken name
	f.Add("abc%")        // dangling
	f.Add("%A%B%C")      // chained pairing
	f.Add("\xff%A%\x00") // invalid UTF-8 and NUL around a name
	env := mapEnv(map[string]string{"A": "v"})
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := expandEnv(s, env)
		noPct := true
		for i := 0; i < len(s); i++ {
			if s[i] == '%' {
				noPct = false
			}
		}
		if noPct && got != s {
			t.Fatalf("expandEnv(%q) = %q without any %%", s, got)
		}
		if len(got) > len(s)*2+1 {
			t.Fatalf("expandEnv(%q) grew to %q", s, got)
		}
	})
}
