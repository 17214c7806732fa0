package rustre

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// DESIGN.md "Regex dialect": "DeepFlow uses the Rust regex crate (1.8):
// Unicode-aware \w, \d, \s, \b; (?P<n>…) and (?<n>…); no look-around or
// back-references (the rule is skipped). Go's RE2 is close but \w, \d, \s,
// \b are ASCII in Go: translate them so the results match." Expected
// results are the Rust crate's.
func TestDialectMatches(t *testing.T) {
	tests := []struct {
		name, regex, subject string
		want                 bool
	}{
		{`\w is Unicode: accented`, `^\w+$`, "naïve", true},
		{`\w is Unicode: CJK`, `^\w+$`, "日本語", true},
		{`\w includes marks`, `^\w+$`, "e\u0301", true},
		{`\w includes Join_Control`, `^\w+$`, "a\u200db", true},
		{`\w includes circled letters (Other_Alphabetic)`, `^\w$`, "Ⓐ", true},
		{`\w excludes punctuation`, `^\w+$`, "a-b", false},
		{`\W is the complement`, `^\W$`, "é", false},
		{`\d is Unicode: Arabic-Indic digits`, `^\d+$`, "١٢٣", true},
		{`\D excludes them`, `^\D$`, "١", false},
		{`\s is Unicode: no-break space`, `a\sb`, "a\u00a0b", true},
		{`\s includes vertical tab`, `a\sb`, "a\vb", true},
		{`\S excludes U+3000`, `^\S$`, "\u3000", false},
		{`class with \w and punctuation`, `^[\w.-]+$`, "café.v2-x", true},
		{`negated class with \d`, `^[^\d]+$`, "abc١", false},
		{`class with \W`, `^[\W]+$`, " -é", false},
		{`class with \S`, `^[\S]+$`, "ab\u00a0", false},
		{`\b is Unicode: no boundary between é and f`, `\bfoo`, "éfoo", false},
		{`\b is Unicode: boundary after a space`, `\bfoo\b`, "é foo", true},
		{`\b on ASCII subjects`, `\bfoo\b`, "a foo b", true},
		{`\B is Unicode`, `é\Bf`, "éf", true},
		{`(?-u) makes \w ASCII`, `(?-u:\w)`, "é", false},
		{`(?-u) makes \s ASCII with \v`, `(?-u)a\sb`, "a\vb", true},
		{`(?-u) scope ends with its group`, `(?:(?-u)x)\w`, "xé", true},
		{`(?u) after (?-u) turns Unicode back on`, `(?-u)(?u)^\w$`, "é", true},
		{`\u escape`, `^\u00e9$`, "é", true},
		{`\u{} escape`, `^\u{1F600}$`, "😀", true},
		{`\U escape`, `^\U0001F600$`, "😀", true},
		{`class intersection`, `^[a-z&&[^aeiou]]+$`, "bcd", true},
		{`class intersection excludes`, `^[a-z&&[^aeiou]]+$`, "bad", false},
		{`class difference`, `^[0-9--4]$`, "3", true},
		{`class difference excludes`, `^[0-9--4]$`, "4", false},
		{`class symmetric difference`, `^[a-g~~b-h]+$`, "ah", true},
		{`class symmetric difference excludes`, `^[a-g~~b-h]+$`, "b", false},
		{`difference of Unicode classes`, `^[\pL--\p{Greek}]$`, "a", true},
		{`difference of Unicode classes excludes`, `^[\pL--\p{Greek}]$`, "α", false},
		{`nested classes are a union`, `^[[a-c][x-z]]+$`, "axz", true},
		{`negated nested class`, `^[^[a-c]]$`, "d", true},
		{`negated nested class excludes`, `^[^[a-c]]$`, "b", false},
		{`union binds tighter than &&`, `^[ab&&bc]$`, "b", true},
		{`union binds tighter than && (a)`, `^[ab&&bc]$`, "a", false},
		{`operations go left to right`, `^[a-c&&b-d--c]$`, "b", true},
		{`operations go left to right (c)`, `^[a-c&&b-d--c]$`, "c", false},
		{`ranges with escapes in a set class`, `^[\x00-\x1f&&\n]$`, "\n", true},
		{`ranges with escapes in a set class (tab)`, `^[\x00-\x1f&&\n]$`, "\t", false},
		{`POSIX class in a set class`, `^[[:alpha:]&&[^a]]$`, "b", true},
		{`(?i) folds the operands first`, `(?i)^[a-z--K]+$`, "ab", true},
		{`(?i) folds the operands first (k)`, `(?i)^[a-z--K]+$`, "k", false},
		{`empty set class matches nothing`, `^a[a&&b]?$`, "a", true},
		{`(?x) ignores whitespace`, `(?x) ^ a b $`, "ab", true},
		{`(?x) ignores # comments to the end of the line`, "(?x)^a # the a\n b$", "ab", true},
		{`(?x) escaped space and #`, `(?x)^a\ \#$`, "a #", true},
		{`(?x) in a class`, `(?x)^[a b]+$`, "abba", true},
		{`(?x) in a class does not add a space`, `(?x)^[a b]+$`, "a b", false},
		{`(?x) ends with its group`, `(?:(?x) a )b c`, "ab c", true},
		{`(?-x) turns it off`, `(?x)a(?-x) b`, "a b", true},
		{`(?x) between an atom and its repetition`, `(?x)^a +$`, "aaa", true},
		{`spaces around a count's numbers`, `^a{ 2 , 3 }$`, "aaa", true},
		{`spaces around a single count`, `^a{ 2 }$`, "aa", true},
		{`\x escape`, `^\xe9$`, "é", true},
		{`\x{} escape with hex letters`, `^\x{e9}$`, "é", true},
		{`\x{} escape of an emoji`, `^\x{1F600}$`, "😀", true},
		{`\x{} escape with (?i)`, `(?i)^\x{212A}$`, "k", true},
		{`\x{} escape in a class`, `^[\x{e0}-\x{ff}]$`, "é", true},
		{`\p{Old_Italic}, a script with an underscore`, `^\p{Old_Italic}$`, "\U00010300", true},
		{`\p{Tai_Le}`, `^\p{Tai_Le}$`, "\u1950", true},
		{`\p{old italic} loose`, `^\p{old italic}$`, "\U00010300", true},
		{`\p{Greek}`, `^\p{Greek}+$`, "αβγ", true},
		{`\p{Letter} long name`, `^\p{Letter}+$`, "abc", true},
		{`\p{greek} loose name`, `^\p{greek}$`, "α", true},
		{`\p{sc=Greek}`, `^\p{sc=Greek}$`, "α", true},
		{`\p{gc=Nd}`, `^\p{gc=Decimal_Number}$`, "٣", true},
		{`\P{Greek}`, `^\P{Greek}$`, "α", false},
		{`\p{^Greek}`, `^\p{^Greek}$`, "a", true},
		{`\p{Alphabetic}`, `^\p{Alphabetic}$`, "Ⓐ", true},
		{`\p{White_Space}`, `^\p{White_Space}$`, "\u2028", true},
		{`\p{space} alias`, `^\p{space}$`, "\u2028", true},
		{`\p{Lowercase} includes Other_Lowercase`, `^\p{Lowercase}+$`, "aª", true},
		{`\p{Lower} excludes upper case`, `^\p{Lower}$`, "A", false},
		{`\p{Upper} includes Other_Uppercase`, `^\p{Upper}+$`, "AⒶ", true},
		{`\p{Math} includes Other_Math`, `^\p{Math}+$`, "+^", true},
		{`\p{Cased}`, `^\p{Cased}+$`, "aAǅ", true},
		{`\p{Cased} excludes uncased letters`, `^\p{Cased}$`, "א", false},
		{`(?i) folds Unicode`, `(?i)^straße$`, "STRAßE", true},
		{`$ is end of text only`, `a$`, "a\n", false},
		{`. does not match newline`, `^a.b$`, "a\nb", false},
		{`(?s) . matches newline`, `(?s)^a.b$`, "a\nb", true},
		{`counted repetition`, `^a{2,3}$`, "aaa", true},
		{`escaped brace is literal`, `^a\{2\}$`, "a{2}", true},
		{`an escaped backslash before w is literal`, `^\\w$`, `\w`, true},
		{`an escaped backslash before w is not a class`, `^\\w$`, `\a`, false},
		{`escaped punctuation`, `^\#\&\~\-$`, "#&~-", true},
		{`ASCII class`, `^[[:digit:]]+$`, "123", true},
		{`nested repetition a** is (?:a*)*`, `^a**$`, "aaa", true},
		{`nested counted repetition`, `^a{2}{3}$`, "aaaaaa", true},
		{`nested counted repetition counts`, `^a{2}{3}$`, "aaaaa", false},
		{`repetition of a repeated group`, `^(?:ab)+*$`, "abab", true},
		{`lazy then greedy`, `^x(a+?)+y$`, "xaay", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re, err := Compile(tt.regex)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.regex, err)
			}
			if got := re.MatchString(tt.subject); got != tt.want {
				t.Fatalf("%q on %q = %v, want %v (Go pattern %.120q)", tt.regex, tt.subject, got, tt.want, re.GoPattern())
			}
			if got := re.Match([]byte(tt.subject)); got != tt.want {
				t.Fatalf("Match(%q) on %q = %v, want %v", tt.regex, tt.subject, got, tt.want)
			}
		})
	}
}

// DESIGN.md "Regex dialect": "no look-around or back-references (the rule
// is skipped)", plus Rust-only or Go-only syntax that the engines would
// read differently: proctag skips the rule with a reason.
func TestDialectRejects(t *testing.T) {
	tests := []struct {
		name, regex, reason string
	}{
		{"look-ahead", `foo(?=bar)`, "look-around"},
		{"negative look-ahead", `foo(?!bar)`, "look-around"},
		{"look-behind", `(?<=a)b`, "look-around"},
		{"negative look-behind", `(?<!a)b`, "look-around"},
		{"back-reference", `(a)\1`, "back-references"},
		{`\0 is not octal in Rust`, `\0`, "back-references"},
		{`\< is reserved in Rust 1.8`, `\<foo`, `\<`},
		{`\Q is Go-only`, `\Qa.b\E`, "unknown escape"},
		{`\Z`, `a\Z`, "unknown escape"},
		{"malformed counted repetition is an error in Rust", `a{,3}`, "counted repetition"},
		{"unclosed counted repetition", `a{2`, "counted repetition"},
		{"digits split by a space in a count", `a{1 0}`, "counted repetition"},
		{"unclosed nested class", `[a[b]`, "unclosed character class"},
		{"classes nested too deep", strings.Repeat("[", 300) + "a" + strings.Repeat("]", 300), "nested deeper"},
		{"reversed range in a set class", `[z-a&&b]`, "invalid class range"},
		{"CRLF mode", `(?R)^a$`, "CRLF"},
		{"duplicate flag", `(?ii)a`, "duplicate flag"},
		{". without Unicode", `(?-u).`, "invalid UTF-8"},
		{`\W without Unicode`, `(?-u)\W`, "invalid UTF-8"},
		{"negated class without Unicode", `(?-u)[^a]`, "invalid UTF-8"},
		{"duplicate capture name", `(?P<a>x)(?P<a>y)`, "duplicate capture group name"},
		{"duplicate capture name, both syntaxes", `(?P<a>x)|(?<a>y)`, "duplicate capture group name"},
		{"duplicate non-ASCII capture name", `(?P<é>x)(?P<é>y)`, "duplicate capture group name"},
		{"capture name with a hyphen", `(?P<a-b>x)`, "invalid capture group name"},
		{"capture name starting with a dot", `(?P<.a>x)`, "invalid capture group name"},
		{"capture name starting with a Unicode digit", `(?P<٣a>x)`, "invalid capture group name"},
		{"capture name starting with a digit", `(?P<1a>x)`, "invalid capture group name"},
		{"unknown Unicode class", `\p{Bogus}`, "not supported"},
		{"Go rejects: repetition over 1000", `a{1001}`, "invalid repeat count"},
		{"unbalanced parenthesis", `(a`, "missing closing )"},
		{"empty character class", `[]`, "unclosed character class"},
		{"ASCII and Unicode word boundaries mixed", `(?-u:\b)x\b`, "word boundaries in one pattern"},
		{"Unicode and ASCII word boundaries mixed", `\bx(?-u)\b`, "word boundaries in one pattern"},
		{"negated property in a class that is not one category", `[\P{Alphabetic}]`, "inside a class"},
		{"Unicode property Go lacks", `\p{Emoji}`, "not supported by proctag"},
		{"script extensions", `\p{scx=Greek}`, "not supported by proctag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re, err := Compile(tt.regex)
			if err == nil {
				t.Fatalf("Compile(%q) = %q, want an error", tt.regex, re.GoPattern())
			}
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("Compile(%q) error %v (%T) is not an *Error", tt.regex, err, err)
			}
			if e.Pattern != tt.regex {
				t.Fatalf("Error.Pattern = %q, want %q", e.Pattern, tt.regex)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("error %q does not say %q", err, tt.reason)
			}
		})
	}
}

// A pattern without escapes, classes, flag groups or braces translates to
// itself; named groups keep Go's numbering.
func TestTranslateIdentity(t *testing.T) {
	for _, p := range []string{"", ".*", "^nginx$", "python3 (.*)\\.py", "a|b|(c)", "x+?y*", "(?:a)(?P<n>b)"} {
		tr, err := translate(p)
		want := strings.ReplaceAll(p, `\.`, `\.`)
		if err != nil || tr.pattern != want {
			t.Errorf("translate(%q) = %q, %v; want identity", p, tr.pattern, err)
		}
	}
	tr, err := translate("(?<n>b)")
	if err != nil || tr.pattern != "(?P<n>b)" {
		t.Errorf("translate((?<n>b)) = %q, %v", tr.pattern, err)
	}
}

// FuzzTranslate: the translator never panics and refuses only with an
// *Error; a pattern Go accepts that has no \, [, (? or { comes back
// unchanged; a compiled Regexp's entry points agree with each other (Match
// and MatchString, the first of FindAll and FindStringSubmatchIndex); when
// Go compiles the translation, the Unicode word boundary matcher agrees
// with Go's regexp on ASCII subjects (where ASCII and Unicode \b
// coincide), both for a match and for Rust's replace-all iteration.
func FuzzTranslate(f *testing.F) {
	f.Add(`\w+`, "abc def")            // Unicode class
	f.Add(`[\w.-]+`, "a.b-c")          // class inside a class
	f.Add(`\bfoo\b`, "a foo b")        // word boundary
	f.Add(`\bé\b`, "x é y")            // word boundary on a non-ASCII subject
	f.Add(`(?-u:\w)\d`, "a1")          // Unicode off in a group
	f.Add(`(?P<n>a)(?<m>b)`, "ab")     // both named-group spellings
	f.Add(`\\w`, `\w`)                 // escaped backslash then w
	f.Add(`a{2,}b*?`, "aab")           // counted and lazy repetition
	f.Add(`\b|x*`, "xx yy")            // empty matches with boundaries
	f.Add(`(?i)\B[a-c]+\b`, "ABC abc") // flags with \B
	f.Add(`\u{41}\p{L}\P{Nd}`, "AbC")  // Rust-only escapes
	f.Add(`(?i)[a-z&&[^k]--x]`, "Kx")  // set operations, nested and folded
	f.Add("(?x)a b # c\n[ d]", "abd")  // verbose mode
	f.Add(`(?i-u)[a-z]+k\x53`, "AKs")  // ASCII-only case folding
	f.Add(`(?-u:\b)x\b`, "x")          // mixed word boundaries, refused
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		tr, err := translate(pattern)
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("translate error %v is not an *Error", err)
			}
			return
		}
		_, goErr := regexp.Compile(pattern)
		if goErr == nil && !strings.ContainsAny(pattern, `\[{`) && !strings.Contains(pattern, "(?") && tr.pattern != pattern {
			t.Fatalf("translate(%q) = %q, want identity", pattern, tr.pattern)
		}
		if len(subject) > 64 {
			return
		}
		rx, err := Compile(pattern)
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("Compile error %v is not an *Error", err)
			}
			return
		}
		first, all := rx.FindStringSubmatchIndex(subject), rx.FindAllStringSubmatchIndex(subject, -1)
		if m := rx.MatchString(subject); m != rx.Match([]byte(subject)) || m != (first != nil) || m != (len(all) > 0) {
			t.Fatalf("%q on %q: MatchString %v, Match %v, first %v, all %v", pattern, subject, m, rx.Match([]byte(subject)), first, all)
		}
		if first != nil && !slices.Equal(first, all[0]) {
			t.Fatalf("%q on %q: first match %v, first of all %v", pattern, subject, first, all[0])
		}
		if !isASCII(subject) {
			return
		}
		re, err := regexp.Compile(tr.pattern)
		if err != nil {
			return
		}
		bm, err := newBoundaryMatcher(tr.pattern)
		if err != nil {
			t.Fatalf("boundary matcher rejects %q that Go compiles: %v", tr.pattern, err)
		}
		if got, want := bm.match(subject), re.MatchString(subject); got != want {
			t.Fatalf("%q on %q: boundary matcher %v, Go %v", tr.pattern, subject, got, want)
		}
		got, want := bm.findAll(subject), re.FindAllStringSubmatchIndex(subject, -1)
		if !slices.EqualFunc(got, want, slices.Equal[[]int]) {
			t.Fatalf("%q on %q: boundary matcher %v, Go %v", tr.pattern, subject, got, want)
		}
	})
}
