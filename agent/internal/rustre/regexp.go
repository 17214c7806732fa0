package rustre

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"slices"
)

// Regexp is a compiled Rust regex 1.8 pattern. It searches as the Rust
// crate does: leftmost-first, unanchored unless the pattern anchors, with
// Unicode \w \d \s \b. A Regexp is immutable and safe for concurrent use.
type Regexp struct {
	src string
	re  *regexp.Regexp
	// bm is set when the pattern uses a Unicode \b or \B, which Go
	// evaluates with ASCII word characters: subjects with non-ASCII text
	// are then matched by the backtracker in boundary.go.
	bm *boundaryMatcher
	// names are the capture groups' names as the Rust pattern writes
	// them, when Go's syntax could not take one of them; else nil and
	// re's names are those.
	names []string
}

// Compile translates pattern, written in the Rust regex crate 1.8 dialect,
// into Go's RE2 syntax and compiles it. Every error is an *Error saying
// why the pattern cannot be translated, at which offset when known.
func Compile(pattern string) (*Regexp, error) {
	tr, err := translate(pattern)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(tr.pattern)
	if err != nil {
		return nil, goError(pattern, err)
	}
	r := &Regexp{src: pattern, re: re}
	if tr.renamed != nil {
		r.names = slices.Clone(re.SubexpNames())
		for i, n := range r.names {
			if rust, ok := tr.renamed[n]; ok {
				r.names[i] = rust
			}
		}
	}
	if tr.wordBoundary {
		if r.bm, err = newBoundaryMatcher(tr.pattern); err != nil {
			return nil, goError(pattern, err)
		}
	}
	return r, nil
}

// goError wraps an error of Go's regexp parser on the translated pattern.
func goError(pattern string, err error) *Error {
	e := &Error{Pattern: pattern, Offset: -1, Reason: err.Error()}
	if se, ok := errors.AsType[*syntax.Error](err); ok {
		e.Err = se
	}
	return e
}

// String returns the Rust pattern given to Compile.
func (r *Regexp) String() string { return r.src }

// GoPattern returns the Go RE2 pattern the Rust pattern was translated to,
// for static analysis with regexp/syntax and for messages. Its \b and \B
// are ASCII in Go; the Regexp itself evaluates them with Unicode word
// characters.
func (r *Regexp) GoPattern() string { return r.re.String() }

// NumSubexp returns the number of capture groups, group 0 (the whole
// match) not counted.
func (r *Regexp) NumSubexp() int { return r.re.NumSubexp() }

// SubexpNames returns the names of the capture groups, "" for unnamed
// ones; index 0 is the whole match. The slice must not be modified.
func (r *Regexp) SubexpNames() []string {
	if r.names != nil {
		return r.names
	}
	return r.re.SubexpNames()
}

// SubexpIndex returns the index of the capture group called name, or -1.
func (r *Regexp) SubexpIndex(name string) int {
	if r.names != nil {
		if name == "" {
			return -1
		}
		return slices.Index(r.names, name)
	}
	return r.re.SubexpIndex(name)
}

// MatchString reports whether the pattern matches anywhere in s.
func (r *Regexp) MatchString(s string) bool {
	if r.bm != nil && !isASCII(s) {
		return r.bm.match(s)
	}
	return r.re.MatchString(s)
}

// Match reports whether the pattern matches anywhere in b. It does not
// allocate unless b has non-ASCII text and the pattern a Unicode \b or \B.
func (r *Regexp) Match(b []byte) bool {
	if r.bm != nil && !isASCIIBytes(b) {
		return r.bm.match(string(b))
	}
	return r.re.Match(b)
}

// FindStringSubmatchIndex returns the byte offsets of the leftmost-first
// match in s and of its capture groups (pairs, -1 for a group that did not
// participate), or nil when there is no match.
func (r *Regexp) FindStringSubmatchIndex(s string) []int {
	if r.bm != nil && !isASCII(s) {
		return r.bm.findAt(s, 0)
	}
	return r.re.FindStringSubmatchIndex(s)
}

// FindAllStringSubmatchIndex returns the offsets of successive
// non-overlapping matches in s, as Rust's captures_iter finds them: after
// an empty match the search goes on one character later, and an empty
// match that ends where the previous match ended is skipped. n < 0 means
// all matches, else at most n.
func (r *Regexp) FindAllStringSubmatchIndex(s string, n int) [][]int {
	if n == 0 {
		return nil
	}
	if r.bm != nil && !isASCII(s) {
		all := r.bm.findAll(s)
		if n >= 0 && len(all) > n {
			all = all[:n]
		}
		return all
	}
	// Go's FindAll skips an empty match abutting the previous match and
	// steps one rune after an empty match, which is regex 1.8's
	// CaptureMatches iterator.
	return r.re.FindAllStringSubmatchIndex(s, n)
}

// ReplaceAllString returns src with every match replaced by template
// expanded for that match, text between matches kept: Rust's
// Regex::replace_all(src, template). See Template for the syntax. To
// apply one template to many subjects, compile it once with Template.
func (r *Regexp) ReplaceAllString(src, template string) string {
	return r.Template(template).ReplaceAllString(src)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
