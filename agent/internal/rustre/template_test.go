package rustre

import (
	"slices"
	"strings"
	"testing"
)

// The template syntax of Rust's Regex::replace_all (regex 1.8,
// src/expand.rs), checked on one match each. Expected values are what the
// Rust crate returns; rust_test.go has the crate's own replace tests.
func TestTemplate(t *testing.T) {
	tests := []struct {
		name, regex, template, subject, want string
	}{
		{"$1 and $2", `^(\w+)-(\d+)$`, "$2.$1", "app-42", "42.app"},
		{"$1a is the group named 1a, empty", `^(\w+)$`, "$1a", "app", ""},
		{"${1}a", `^(\w+)$`, "${1}a", "app", "appa"},
		{"$name", `^(?P<svc>[a-z]+)d$`, "$svc-daemon", "sshd", "ssh-daemon"},
		{"${name} with an angle-bracket group", `^(?<svc>[a-z]+)d$`, "${svc}_d", "sshd", "ssh_d"},
		{"$name_x takes the whole run", `^(?P<svc>[a-z]+)d$`, "$svc_x", "sshd", ""},
		{"$0 is the whole match", `b+`, "[$0]", "abbc", "a[bb]c"},
		{"$$ is a dollar", `^(\w+)$`, "$$$1", "app", "$app"},
		{"a lone $ stays", `^(\w+)$`, "$1 costs $", "app", "app costs $"},
		{"$- stays", `^(\w+)$`, "$-$1", "app", "$-app"},
		{"unclosed ${ stays", `^(\w+)$`, "${1", "app", "${1"},
		{"${} is the empty name, empty", `^(\w+)$`, "<${}>", "app", "<>"},
		{"missing group number is empty", `^(\w+)$`, "[$7]", "app", "[]"},
		{"missing group name is empty", `^(\w+)$`, "[$nope]", "app", "[]"},
		{"${+1} is group 1 (u32 parse)", `^(\w+)$`, "${+1}", "app", "app"},
		{"${01} is group 1", `^(\w+)$`, "${01}", "app", "app"},
		{"${-1} is a name, empty", `^(\w+)$`, "<${-1}>", "app", "<>"},
		{"a number over u32 is a name, empty", `^(\w+)$`, "<${4294967296}>", "app", "<>"},
		{"non-participating group is empty", `^(x)?(app)$`, "[$1|$2]", "app", "[|app]"},
		{"group text is not expanded again", `^(.*)$`, "$1", "$1$$", "$1$$"},
		{"no match returns the subject", `z`, "x", "abc", "abc"},
		{"non-ASCII subject with a Unicode \\b", `\b(\w+)\b`, "<$1>", "é ü", "<é> <ü>"},
		{"${name} of a non-ASCII name", `(?P<名前>\w+)\.py`, "${名前}", "app.py", "app"},
		{"$ before a non-ASCII name stays", `(?P<名前>\w+)\.py`, "$名前", "app.py", "$名前"},
		{"${name} of a name with '.', '[' and ']'", `(?P<a.b[0]>\w+)-(?P<z>\d)`, "${z}:${a.b[0]}", "app-4", "4:app"},
		{"a renamed group beside a plain one", `(?P<één>x)(?P<two>y)`, "$two${één}", "xy", "yx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := mustCompile(t, tt.regex)
			tm := re.Template(tt.template)
			if got := tm.ReplaceAllString(tt.subject); got != tt.want {
				t.Fatalf("%q.replace_all(%q, %q) = %q, want %q", tt.regex, tt.subject, tt.template, got, tt.want)
			}
			if got := re.ReplaceAllString(tt.subject, tt.template); got != tt.want {
				t.Fatalf("ReplaceAllString = %q, want %q", got, tt.want)
			}
			if tm.String() != tt.template {
				t.Fatalf("String() = %q, want %q", tm.String(), tt.template)
			}
		})
	}
}

// FuzzTemplate: the expander never panics; a template without '$' expands
// to itself; "$$" always yields one '$'; expansion never reads outside the
// subject; replace-all keeps the text outside the matches.
func FuzzTemplate(f *testing.F) {
	f.Add("$1-py-script", "python3 /srv/a.py") // docs example
	f.Add("$1a", "abc")                        // longest-run name
	f.Add("${name}x", "abc")                   // braced name
	f.Add("$$", "abc")                         // escaped dollar
	f.Add("${", "abc")                         // unclosed brace
	f.Add("${+1}", "a")                        // Rust u32 parse
	f.Add("$\xff", "\xff")                     // invalid UTF-8
	f.Add("<$2>", "é x")                       // non-participating group, non-ASCII subject
	re := mustCompile(f, `(?P<name>\w)(x)?`)
	f.Fuzz(func(t *testing.T, tpl, subject string) {
		tm := re.Template(tpl)
		m := re.FindStringSubmatchIndex(subject)
		if m == nil {
			m = []int{0, 0, -1, -1, -1, -1}
		}
		got := string(tm.appendExpand(nil, subject, m))
		if !strings.Contains(tpl, "$") && got != tpl {
			t.Fatalf("template %q without $ expanded to %q", tpl, got)
		}
		if tpl == "$$" && got != "$" {
			t.Fatalf("$$ expanded to %q", got)
		}
		if tpl == "" {
			// Deleting every match leaves the text between them.
			all := re.FindAllStringSubmatchIndex(subject, -1)
			var rest strings.Builder
			last := 0
			for _, m := range all {
				rest.WriteString(subject[last:m[0]])
				last = m[1]
			}
			rest.WriteString(subject[last:])
			if out := tm.ReplaceAllString(subject); out != rest.String() {
				t.Fatalf("empty template on %q = %q, want %q", subject, out, rest.String())
			}
		}
	})
}

// mustCompile compiles a pattern that must be valid.
func mustCompile(t testing.TB, pattern string) *Regexp {
	t.Helper()
	re, err := Compile(pattern)
	if err != nil {
		t.Fatalf("Compile(%q): %v", pattern, err)
	}
	return re
}

// TestRenamedGroupNames checks that a capture group whose Rust name Go's
// syntax cannot take is known by its Rust name, never by the placeholder
// the translation gave it.
func TestRenamedGroupNames(t *testing.T) {
	re := mustCompile(t, `(?P<名前>x)(y)(?<a.b>z)`)
	if got, want := re.SubexpNames(), []string{"", "名前", "", "a.b"}; !slices.Equal(got, want) {
		t.Errorf("SubexpNames() = %q, want %q", got, want)
	}
	for name, want := range map[string]int{"名前": 1, "a.b": 3, "": -1, "proctagRenamed0": -1, "nope": -1} {
		if got := re.SubexpIndex(name); got != want {
			t.Errorf("SubexpIndex(%q) = %d, want %d", name, got, want)
		}
	}
}
