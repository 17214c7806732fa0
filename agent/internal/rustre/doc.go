// Package rustre runs regular expressions written for the Rust regex crate
// 1.8 (the dialect of the DeepFlow agent's os-proc-regex) on Go's RE2
// engine, with the Rust crate's results. Compile translates a Rust pattern
// into Go's regexp/syntax and compiles it; the *Regexp matches, finds and
// replaces all with a Rust replacement template (Template). What cannot be
// translated exactly is refused with an *Error that says why and where,
// never guessed at.
//
// It owns the dialect only: which patterns a program accepts, what it does
// with a match and where the patterns come from belong to its callers (the
// os-proc-regex semantics are package rules').
//
// # What is translated
//
// Go's RE2 is close to Rust's engine: same leftmost-first search, same
// syntax for most of a pattern, same simple case folding under (?i), and a
// pattern without backslashes, brackets, braces or flag groups is passed
// through as it is. The differences are translated:
//   - \d, \s, \w and their negations are Unicode in Rust (UTS#18 Annex C:
//     \d is \p{Nd}, \s is \p{White_Space}, \w is Alphabetic, marks, Nd, Pc
//     and Join_Control) and ASCII in Go: they are written out as Unicode
//     classes from Go's tables (unicode.go). Under (?-u) they stay ASCII,
//     with Rust's \s, which includes \v.
//   - \b and \B are Unicode in Rust and ASCII in Go, which has no hook for
//     them: a pattern that uses them runs, on subjects with non-ASCII text,
//     on a backtracker over Go's compiled program with Rust's word
//     characters and a visited set, linear in program size times subject
//     length (boundary.go). ASCII subjects use Go's matcher.
//   - flags u (Unicode) and x (verbose: whitespace and # comments ignored,
//     inside classes too) do not exist in Go and are applied during the
//     translation, scoped to their group; i, m, s and U pass through.
//   - (?i) with Unicode mode off folds ASCII letters only in Rust, while Go
//     always folds with Unicode (k to U+212A KELVIN SIGN, s to U+017F
//     LONG S): there k, s and classes are written case-sensitively with
//     both ASCII cases.
//   - (?<name>…) becomes (?P<name>…); a name Go's syntax cannot take
//     (Rust allows Unicode letters and digits, '.', '[' and ']') is
//     written as a placeholder, and the Regexp knows the group by its Rust
//     name (SubexpNames, SubexpIndex, templates); \xHH, \x{…}, \uHHHH, \u{…},
//     \UHHHHHHHH and \U{…} become \x{…}.
//   - \p{…} and \P{…} take Rust's names: loose matching (case, spaces, '_'
//     and '-' ignored), long category names, gc=, sc=, script=, \p{^…},
//     !=, and binary properties, the derived ones Go lacks (Alphabetic,
//     Lowercase, Uppercase, Math, Cased) computed from their definitions
//     (unicodeprops.go).
//   - nested classes and the set operations && (and), -- (minus) and ~~
//     (symmetric difference) are computed as rune sets and written out as
//     ranges, with regex-syntax's precedence and case folding (classset.go).
//   - a repetition of a repetition (a**, a{2}{3}), which Go rejects, is
//     grouped first; spaces around the numbers of {n,m} are dropped.
//   - replacement templates follow Rust's expand_str, not Go's Expand
//     (template.go); replace-all iterates matches as Rust's captures_iter
//     does (an empty match right after a match is skipped, the search steps
//     one character after an empty match).
//
// # What is refused, and why
//
// Patterns the Rust crate 1.8 rejects are refused too, so that an error in
// proctag is an error in DeepFlow (which skips the rule): look-around,
// back-references (\1, and \0, which is not octal in Rust), \< and \>,
// unknown escapes (\Q, \Z, …), escaped non-ASCII characters, malformed or
// unclosed counted repetitions, classes, groups and escapes, invalid or
// duplicate capture names and flags, \b inside a class, classes nested
// deeper than 250, reversed class ranges, Unicode classes under (?-u), and
// what could match invalid UTF-8 under (?-u) ('.', [^…], \D, \S, \W, \B),
// which Rust rejects for a string regex.
//
// Patterns the Rust crate accepts but Go's engine would read differently
// are refused rather than matched differently; the caller decides what
// that means (rules skips the rule, as for an invalid one, and says so):
//   - CRLF mode (?R), which Go lacks;
//   - an ASCII (?-u) \b or \B in a pattern that also has a Unicode one:
//     the Unicode word boundary matcher would read both as Unicode;
//   - Unicode property names Go's tables do not have (e.g. scx=, Emoji),
//     and a negated property inside a class that is not a plain category
//     or script (Go has no way to write it without computing the set);
//   - repetition counts above 1000, Go's limit (Rust limits the compiled
//     size instead), and anything else Go's parser refuses in the
//     translated pattern: the *Error then wraps its *syntax.Error.
package rustre
