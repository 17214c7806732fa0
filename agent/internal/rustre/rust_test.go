package rustre

import (
	"fmt"
	"slices"
	"testing"
	"unicode"
)

// Differential tests: each expectation is the Rust regex crate's own,
// taken from its test suite (rust-lang/regex tests/unicode.rs,
// tests/bytes.rs, tests/word_boundary_*.rs and tests/replace.rs, which
// hold these cases unchanged from 1.5 through 1.8, and testdata/*.toml,
// where 1.9 moved them), from the Captures::expand documentation, or from
// rust-lang/regex#1021 (run on 1.8.4). Every case runs on both engines of
// a Regexp: Go's regexp and the Unicode word boundary backtracker.

// engines returns re's find-all functions by engine: Go's regexp (the
// Regexp's own path, used on ASCII subjects or without \b) and the
// backtracker (used on non-ASCII subjects with \b), forced here on every
// subject.
func engines(t *testing.T, re *Regexp) map[string]func(string) [][]int {
	t.Helper()
	bm, err := newBoundaryMatcher(re.GoPattern())
	if err != nil {
		t.Fatalf("boundary matcher for %q: %v", re.GoPattern(), err)
	}
	return map[string]func(string) [][]int{
		"regexp":    func(s string) [][]int { return re.FindAllStringSubmatchIndex(s, -1) },
		"backtrack": bm.findAll,
	}
}

// spans keeps the whole-match offsets of each match.
func spans(ms [][]int) [][2]int {
	out := [][2]int{}
	for _, m := range ms {
		out = append(out, [2]int{m[0], m[1]})
	}
	return out
}

func TestRustFirstMatch(t *testing.T) {
	none := [2]int{-1, -1}
	tests := []struct {
		name, regex, haystack string
		want                  [2]int // none: no match
	}{
		// tests/unicode.rs
		{"uni_literal", `☃`, "☃", [2]int{0, 3}},
		{"uni_literal_casei_plus", `(?i)☃+`, "☃", [2]int{0, 3}},
		{"uni_class_plus", `[☃Ⅰ]+`, "☃", [2]int{0, 3}},
		{"uni_one", `\pN`, "Ⅰ", [2]int{0, 3}},
		{"uni_mixed", `\pN+`, "Ⅰ1Ⅱ2", [2]int{0, 8}},
		{"uni_not", `\PN+`, "abⅠ", [2]int{0, 2}},
		{"uni_not_class", `[\PN]+`, "abⅠ", [2]int{0, 2}},
		{"uni_not_class_neg", `[^\PN]+`, "abⅠ", [2]int{2, 5}},
		{"uni_case", `(?i)Δ`, "δ", [2]int{0, 2}},
		{"uni_case_upper", `\p{Lu}+`, "ΛΘΓΔα", [2]int{0, 8}},
		{"uni_case_upper_nocase_flag", `(?i)\p{Lu}+`, "ΛΘΓΔα", [2]int{0, 10}},
		{"uni_case_upper_nocase", `\p{L}+`, "ΛΘΓΔα", [2]int{0, 10}},
		{"uni_case_lower", `\p{Ll}+`, "ΛΘΓΔα", [2]int{8, 10}},
		{"uni_perl_w", `\w+`, "dδd", [2]int{0, 4}},
		{"uni_perl_w_not", `\w+`, "⥡", none},
		{"uni_perl_w_neg", `\W+`, "⥡", [2]int{0, 3}},
		{"uni_perl_d", `\d+`, "1२३9", [2]int{0, 8}},
		{"uni_perl_d_not", `\d+`, "Ⅱ", none},
		{"uni_perl_d_neg", `\D+`, "Ⅱ", [2]int{0, 3}},
		{"uni_perl_s", `\s+`, "\u1680", [2]int{0, 3}},
		{"uni_perl_s_not", `\s+`, "☃", none},
		{"uni_perl_s_neg", `\S+`, "☃", [2]int{0, 3}},
		{"uni_boundary_none", `\d\b`, "6δ", none},
		{"uni_boundary_ogham", `\d\b`, "6\u1680", [2]int{0, 1}},
		{"uni_not_boundary_none", `\d\B`, "6δ", [2]int{0, 1}},
		{"uni_not_boundary_ogham", `\d\B`, "6\u1680", none},
		// tests/bytes.rs, the cases a string regex accepts
		{"word_boundary_unicode", ` \b`, " δ", [2]int{0, 1}},
		{"word_not_boundary_unicode", ` \B`, " δ", none},
		{"perl_w_ascii", `(?-u)\w+`, "aδ", [2]int{0, 1}},
		{"perl_w_unicode", `\w+`, "aδ", [2]int{0, 3}},
		{"perl_d_ascii", `(?-u)\d+`, "1२३9", [2]int{0, 1}},
		{"perl_s_ascii", `(?-u)\s+`, " \u1680", [2]int{0, 1}},
		{"perl_s_unicode", `\s+`, " \u1680", [2]int{0, 4}},
		{"case_ascii_one", `(?i-u)a`, "A", [2]int{0, 1}},
		{"case_ascii_class", `(?i-u)[a-z]+`, "AaAaA", [2]int{0, 5}},
		{"case_unicode", `(?i)[a-z]+`, "aA\u212AaA", [2]int{0, 7}},
		{"case_not_unicode", `(?i-u)[a-z]+`, "aA\u212AaA", [2]int{0, 2}},
		{"negate_unicode", `[^a]`, "δ", [2]int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := mustCompile(t, tt.regex)
			m := re.FindStringSubmatchIndex(tt.haystack)
			got := none
			if m != nil {
				got = [2]int{m[0], m[1]}
			}
			if got != tt.want {
				t.Errorf("%q on %q: first match %v, Rust %v (Go pattern %.120q)", tt.regex, tt.haystack, got, tt.want, re.GoPattern())
			}
			if ok := re.MatchString(tt.haystack); ok != (tt.want != none) {
				t.Errorf("MatchString = %v, Rust %v", ok, tt.want != none)
			}
			for name, findAll := range engines(t, re) {
				all := spans(findAll(tt.haystack))
				if (len(all) == 0) != (tt.want == none) || len(all) > 0 && all[0] != tt.want {
					t.Errorf("%s engine: matches %v, Rust's first %v", name, all, tt.want)
				}
			}
		})
	}
}

func TestRustFindAll(t *testing.T) {
	tests := []struct {
		name, regex, haystack string
		want                  [][2]int
	}{
		// testdata/empty.toml
		{"empty 100", `|b`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 110", `b|`, "abc", [][2]int{{0, 0}, {1, 2}, {3, 3}}},
		{"empty 120", `|z`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 130", `z|`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 200", `|`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 210", `||`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 220", `||b`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 230", `b||`, "abc", [][2]int{{0, 0}, {1, 2}, {3, 3}}},
		{"empty 240", `||z`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 300", `(?:)|b`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 310", `b|(?:)`, "abc", [][2]int{{0, 0}, {1, 2}, {3, 3}}},
		{"empty 320", `(?:|)`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 330", `(?:|)|z`, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		{"empty 400", `a(?:)|b`, "abc", [][2]int{{0, 1}, {1, 2}}},
		// the regex crate's documentation: "the empty regex matches abc at
		// positions 0, 1, 2 and 3"
		{"empty regex", ``, "abc", [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
		// tests/word_boundary_unicode.rs and word_boundary_ascii.rs
		{"unicode1", `\bx\b`, "áxβ", [][2]int{}},
		{"unicode2", `\Bx\B`, "áxβ", [][2]int{{2, 3}}},
		{"ascii1", `(?-u:\b)x(?-u:\b)`, "áxβ", [][2]int{{2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := mustCompile(t, tt.regex)
			for name, findAll := range engines(t, re) {
				if name == "backtrack" && tt.name == "ascii1" {
					continue // ASCII \b is Go's; the backtracker is for Unicode \b only
				}
				if got := spans(findAll(tt.haystack)); !slices.Equal(got, tt.want) {
					t.Errorf("%s engine: %q on %q = %v, Rust %v", name, tt.regex, tt.haystack, got, tt.want)
				}
			}
		})
	}
}

func TestRustReplaceAll(t *testing.T) {
	tests := []struct {
		name, regex, haystack, template, want string
	}{
		// tests/replace.rs (the cases with at most one match are
		// replace() there; replace_all gives the same)
		{"plus", `[0-9]+`, "age: 26", "Z", "age: Z"},
		{"all", `[0-9]`, "age: 26", "Z", "age: ZZ"},
		{"all with Unicode \\d", `\d`, "age: 26", "Z", "age: ZZ"},
		{"groups", `([^ ]+)[ ]+([^ ]+)`, "w1 w2", "$2 $1", "w2 w1"},
		{"groups with \\S and \\s", `(\S+)\s+(\S+)`, "w1 w2", "$2 $1", "w2 w1"},
		{"double_dollar", `([^ ]+)[ ]+([^ ]+)`, "w1 w2", "$2 $$1", "w2 $1"},
		{"named", `(?P<first>[^ ]+)[ ]+(?P<last>[^ ]+)(?P<space>[ ]*)`, "w1 w2 w3 w4", "$last $first$space", "w2 w1 w4 w3"},
		{"trim", "^[ \t]+|[ \t]+$", " \t  trim me\t   \t", "", "trim me"},
		{"number_hyphen", `(.)(.)`, "ab", "$1-$2", "a-b"},
		{"simple_expand", `([a-z]) ([a-z])`, "a b", "$2 $1", "b a"},
		{"simple_expand with \\w", `(\w) (\w)`, "a b", "$2 $1", "b a"},
		{"literal_dollar1", `([a-z]+) ([a-z]+)`, "a b", "$$1", "$1"},
		{"literal_dollar2", `([a-z]+) ([a-z]+)`, "a b", "$2 $$c $1", "b $c a"},
		// Captures::expand: "The longest possible name is used. e.g., $1a
		// looks up the capture group named 1a and not the capture group at
		// index 1. To exert more precise control over the name, use
		// braces, e.g., ${1}a."
		{"$1a is the group named 1a", `(a)`, "a", "$1a", ""},
		{"${1}a is group 1 then a", `(a)`, "a", "${1}a", "aa"},
		// rust-lang/regex#1021, regex 1.8.4: "$1_cpu" is the group named
		// 1_cpu (empty), "${1}_cpu" works.
		{"#1021 $1_cpu", `cpu_(.*)`, "cpu_user", "$1_cpu", ""},
		{"#1021 ${1}_cpu", `cpu_(.*)`, "cpu_user", "${1}_cpu", "user_cpu"},
		// Unicode \b on non-ASCII text: boundaries at 0, 2, 3 and 5.
		{"unicode \\b", `\b`, "é ü", "|", "|é| |ü|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := mustCompile(t, tt.regex)
			tm := re.Template(tt.template)
			if got := tm.ReplaceAllString(tt.haystack); got != tt.want {
				t.Errorf("%q.replace_all(%q, %q) = %q, Rust %q", tt.regex, tt.haystack, tt.template, got, tt.want)
			}
			for name, findAll := range engines(t, re) {
				if got := tm.replace(tt.haystack, findAll(tt.haystack)); got != tt.want {
					t.Errorf("%s engine: %q, Rust %q", name, got, tt.want)
				}
			}
		})
	}
}

// Under (?i) with Unicode mode off Rust folds ASCII letters only; Go's
// folding would add U+212A KELVIN SIGN to k and U+017F LONG S to s. No
// other ASCII character has a non-ASCII case variant, which this test
// checks on Go's tables, so that the translation's list stays complete.
func TestASCIIFoldStaysASCII(t *testing.T) {
	re := mustCompile(t, `(?i-u)^[a-z]+\w(?:k|s|\x4b|\x{53})$`)
	for _, s := range []string{"abcKs", "ABCkS", "kskK", "ssss"} {
		if !re.MatchString(s) {
			t.Errorf("%q does not match %q", re, s)
		}
	}
	for _, s := range []string{"ab\u212Ak", "abc\u017F", "abk\u212A", "\u017Fsss"} {
		if re.MatchString(s) {
			t.Errorf("%q matches %q: Rust's ASCII folding does not", re, s)
		}
	}
	var reach []string
	for c := rune(0); c < 0x80; c++ {
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			if f >= 0x80 {
				reach = append(reach, fmt.Sprintf("%c→%U", c, f))
			}
		}
	}
	want := []string{"K→U+212A", "S→U+017F", "k→U+212A", "s→U+017F"}
	if !slices.Equal(reach, want) {
		t.Fatalf("ASCII characters folding to non-ASCII: %v, translation handles %v", reach, want)
	}
}
