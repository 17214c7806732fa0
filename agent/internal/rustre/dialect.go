package rustre

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// translation is a Rust regex 1.8 pattern rewritten in Go RE2 syntax.
type translation struct {
	pattern string
	// wordBoundary is set when the pattern uses a Unicode \b or \B, which
	// Go evaluates in ASCII: subjects with non-ASCII text then go through
	// the matcher in boundary.go.
	wordBoundary bool
	// renamed maps the name each capture group that Go's syntax cannot
	// name (non-ASCII letters, '.', '[', ']') has in pattern to its name
	// in the Rust pattern.
	renamed map[string]string
}

// translator walks a Rust pattern once. Rust (like Go) has no context-
// dependent lexing beyond classes, groups and flags, so one pass with a
// stack of Unicode-mode flags is enough.
type translator struct {
	src string
	pos int
	out outBuf
	res translation
	uni bool // Unicode mode (Rust flag u, on by default)
	// verbose is Rust's flag x: whitespace and # comments are ignored,
	// outside and inside classes.
	verbose bool
	// fold is the flag i, which class set operations apply to their
	// operands (see setClass).
	fold bool
	// classDepth counts the classes being parsed by classSet.
	classDepth int
	// asciiBoundary: the pattern has a \b with Unicode mode off, which
	// the boundary matcher (Unicode) cannot tell from a Unicode one.
	asciiBoundary bool
	stack         []mode // saved modes per open group
	// Rust applies a repetition to whatever precedes it, another
	// repetition included (a** is (?:a*)*); Go rejects a repetition right
	// after one. atom is where the last atom starts in out (-1: none),
	// starts the output offsets of the open groups.
	atom     int
	repeated bool
	starts   []int
	// names are the capture group names seen, which Rust wants unique.
	names map[string]bool
}

// mode is the flags the translation tracks itself, saved per group.
type mode struct{ uni, verbose, fold bool }

// outBuf is the translated pattern being built.
type outBuf struct{ b []byte }

func (o *outBuf) WriteString(s string) { o.b = append(o.b, s...) }
func (o *outBuf) byte1(c byte)         { o.b = append(o.b, c) }
func (o *outBuf) Len() int             { return len(o.b) }
func (o *outBuf) String() string       { return string(o.b) }

// wrap puts out[from:] in a non-capturing group.
func (o *outBuf) wrap(from int) {
	o.b = append(o.b[:from], append([]byte("(?:"), append(o.b[from:len(o.b):len(o.b)], ')')...)...)
}

// translate converts a Rust regex 1.8 pattern to Go RE2 syntax. Patterns
// without Rust-specific escapes, flags, classes or braces come back
// unchanged. Errors are *Error.
func translate(src string) (translation, error) {
	t := &translator{src: src, uni: true, atom: -1}
	for t.pos < len(t.src) {
		if err := t.step(); err != nil {
			return translation{}, err
		}
	}
	t.res.pattern = t.out.String()
	return t.res, nil
}

// fail returns an *Error at the current offset.
func (t *translator) fail(msg string, args ...any) error {
	return &Error{Pattern: t.src, Offset: t.pos, Reason: fmt.Sprintf(msg, args...)}
}

func (t *translator) step() error {
	if t.skipSpace() {
		return nil
	}
	c := t.src[t.pos]
	switch c {
	case '*', '+', '?':
		t.pos++
		lazy := t.pos < len(t.src) && t.src[t.pos] == '?'
		if lazy {
			t.pos++
		}
		t.repeat(string(c) + map[bool]string{true: "?", false: ""}[lazy])
		return nil
	case '{':
		return t.repetition()
	case ')':
		t.atom, t.repeated = -1, false
		if n := len(t.stack); n > 0 {
			t.uni, t.verbose, t.fold = t.stack[n-1].uni, t.stack[n-1].verbose, t.stack[n-1].fold
			t.stack = t.stack[:n-1]
			t.atom = t.starts[n-1]
			t.starts = t.starts[:n-1]
		}
		t.out.byte1(c)
		t.pos++
		return nil
	case '(':
		t.atom, t.repeated = -1, false
		return t.group()
	case '|':
		t.atom, t.repeated = -1, false
		t.out.byte1(c)
		t.pos++
		return nil
	}
	t.atom, t.repeated = t.out.Len(), false
	switch c {
	case '\\':
		return t.escape(false)
	case '[':
		return t.class()
	case '.':
		if !t.uni {
			return t.fail("'.' with Unicode mode off can match invalid UTF-8, which Rust rejects")
		}
		t.out.byte1(c)
		t.pos++
	default:
		r, n := utf8.DecodeRuneInString(t.src[t.pos:])
		if lit, ok := t.asciiFoldLiteral(r); ok {
			t.out.WriteString(lit)
		} else {
			t.out.WriteString(t.src[t.pos : t.pos+n])
		}
		t.pos += n
	}
	return nil
}

// asciiFold reports whether case-insensitive matching is on with Unicode
// mode off: Rust then folds ASCII letters only, while Go's (?i) always
// uses Unicode simple folding.
func (t *translator) asciiFold() bool { return t.fold && !t.uni }

// asciiFoldLiteral returns the Go spelling of the literal r under
// asciiFold when it differs from r: k and s, whose Unicode folding
// reaches U+212A KELVIN SIGN and U+017F LATIN SMALL LETTER LONG S, become
// case-sensitive classes of their two ASCII cases. No other ASCII
// character folds to a non-ASCII one.
func (t *translator) asciiFoldLiteral(r rune) (string, bool) {
	if !t.asciiFold() {
		return "", false
	}
	switch r {
	case 'k', 'K':
		return `(?-i:[Kk])`, true
	case 's', 'S':
		return `(?-i:[Ss])`, true
	}
	return "", false
}

// repeat emits a repetition operator, grouping a preceding repetition
// first so that Go accepts what Rust does.
func (t *translator) repeat(op string) {
	if t.repeated && t.atom >= 0 {
		t.out.wrap(t.atom)
	}
	t.out.WriteString(op)
	t.repeated = true
}

// repetition checks a counted repetition: Rust requires {n}, {n,} or
// {n,m}; Go would read a malformed one as literal text.
func (t *translator) repetition() error {
	end := strings.IndexByte(t.src[t.pos:], '}')
	if end < 0 {
		return t.fail("unclosed counted repetition")
	}
	// Rust allows whitespace around the numbers, in any mode
	// (regex-syntax's parse_decimal).
	body := t.src[t.pos+1 : t.pos+end]
	lo, hi, comma := strings.Cut(body, ",")
	lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
	if !isDigits(lo) || (comma && hi != "" && !isDigits(hi)) {
		return t.fail("invalid counted repetition {%s}", body)
	}
	op := "{" + lo + "}"
	if comma {
		op = "{" + lo + "," + hi + "}"
	}
	t.pos += end + 1
	if t.pos < len(t.src) && t.src[t.pos] == '?' {
		op += "?"
		t.pos++
	}
	t.repeat(op)
	return nil
}

// skipSpace skips whitespace or a # comment (to the end of its line) at
// t.pos when verbose mode is on, and reports whether it did.
func (t *translator) skipSpace() bool {
	if !t.verbose {
		return false
	}
	r, n := utf8.DecodeRuneInString(t.src[t.pos:])
	switch {
	case unicode.IsSpace(r):
		t.pos += n
	case r == '#':
		if end := strings.IndexByte(t.src[t.pos:], '\n'); end >= 0 {
			t.pos += end + 1
		} else {
			t.pos = len(t.src)
		}
	default:
		return false
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (t *translator) group() error {
	rest := t.src[t.pos:]
	t.stack = append(t.stack, mode{t.uni, t.verbose, t.fold})
	t.starts = append(t.starts, t.out.Len())
	switch {
	case strings.HasPrefix(rest, "(?=") || strings.HasPrefix(rest, "(?!") ||
		strings.HasPrefix(rest, "(?<=") || strings.HasPrefix(rest, "(?<!"):
		return t.fail("look-around is not supported")
	case strings.HasPrefix(rest, "(?P<"):
		return t.named(4)
	case strings.HasPrefix(rest, "(?<"):
		return t.named(3)
	case strings.HasPrefix(rest, "(?"):
		return t.flags()
	}
	t.out.byte1('(')
	t.pos++
	return nil
}

// named checks a capture group name as Rust 1.8 does: '_' or a letter
// (Unicode Alphabetic) first, then '_', '.', '[', ']', letters and digits
// (Unicode Alphabetic or Numeric), unique in the pattern. Go takes only
// ASCII letters, digits and '_': another name is written as a placeholder
// that the Regexp maps back (translation.renamed).
func (t *translator) named(prefix int) error {
	end := strings.IndexByte(t.src[t.pos+prefix:], '>')
	if end < 0 {
		return t.fail("unclosed capture group name")
	}
	name := t.src[t.pos+prefix : t.pos+prefix+end]
	if name == "" {
		return t.fail("empty capture group name")
	}
	goName := true
	for i, c := range name {
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		case (c == '.' || c == '[' || c == ']') && i > 0:
			goName = false
		case c >= utf8.RuneSelf && (isAlphabetic(c) || i > 0 && unicode.IsNumber(c)):
			goName = false
		default:
			return t.fail("invalid capture group name %q", name)
		}
	}
	if t.names[name] {
		return t.fail("duplicate capture group name %q", name)
	}
	if t.names == nil {
		t.names = map[string]bool{}
	}
	t.names[name] = true
	out := name
	if !goName {
		if t.res.renamed == nil {
			t.res.renamed = map[string]string{}
		}
		out = fmt.Sprintf("proctagRenamed%d", len(t.res.renamed))
		t.res.renamed[out] = name
	}
	t.out.WriteString("(?P<" + out + ">")
	t.pos += prefix + end + 1
	return nil
}

// isAlphabetic reports whether c has the Unicode Alphabetic property,
// Rust's char::is_alphabetic: letters, letter numbers and the other
// alphabetic marks.
func isAlphabetic(c rune) bool {
	return unicode.IsLetter(c) || unicode.Is(unicode.Nl, c) || unicode.Is(unicode.Other_Alphabetic, c)
}

// flags handles (?flags) and (?flags:...). Rust knows i m s U u x R; Go
// lacks u (Unicode mode) and x (verbose), tracked here, and R (rejected).
func (t *translator) flags() error {
	i := t.pos + 2
	var kept strings.Builder
	seen := map[byte]bool{}
	neg, uni, verbose, fold := false, t.uni, t.verbose, t.fold
	for ; i < len(t.src); i++ {
		c := t.src[i]
		switch c {
		case ':', ')':
			t.pos = i + 1
			f := kept.String()
			if strings.HasSuffix(f, "-") {
				f = f[:len(f)-1]
			}
			if c == ')' {
				// (?flags) changes the enclosing group: drop the frame
				// group() pushed for it.
				t.stack = t.stack[:len(t.stack)-1]
				t.starts = t.starts[:len(t.starts)-1]
				t.uni, t.verbose, t.fold = uni, verbose, fold
				if f != "" {
					t.out.WriteString("(?" + f + ")")
				}
				return nil
			}
			t.uni, t.verbose, t.fold = uni, verbose, fold
			t.out.WriteString("(?" + f + ":")
			return nil
		case '-':
			if neg {
				return t.fail("repeated negation in flags")
			}
			neg = true
			kept.WriteByte('-')
		case 'i', 'm', 's', 'U':
			if seen[c] {
				return t.fail("duplicate flag %q", c)
			}
			seen[c] = true
			kept.WriteByte(c)
			if c == 'i' {
				fold = !neg
			}
		case 'u':
			if seen[c] {
				return t.fail("duplicate flag %q", c)
			}
			seen[c] = true
			uni = !neg
		case 'x':
			if seen[c] {
				return t.fail("duplicate flag %q", c)
			}
			seen[c] = true
			verbose = !neg
		case 'R':
			return t.fail("CRLF mode (?R) is not supported by proctag")
		default:
			return t.fail("unknown flag %q", c)
		}
	}
	return t.fail("unclosed flag group")
}

// class translates a bracketed class. Rust nests classes and has set
// operators (&&, --, ~~) where Go reads literal characters: those are
// rejected.
func (t *translator) class() error {
	if needsSetClass(t.src[t.pos:]) || t.asciiFold() {
		return t.setClass()
	}
	t.out.byte1('[')
	t.pos++
	if t.pos < len(t.src) && t.src[t.pos] == '^' {
		if !t.uni {
			return t.fail("negated class with Unicode mode off can match invalid UTF-8, which Rust rejects")
		}
		t.out.byte1('^')
		t.pos++
	}
	if t.pos < len(t.src) && t.src[t.pos] == ']' {
		t.out.byte1(']')
		t.pos++
	}
	for t.pos < len(t.src) {
		if t.skipSpace() {
			continue
		}
		rest := t.src[t.pos:]
		switch {
		case rest[0] == ']':
			t.out.byte1(']')
			t.pos++
			return nil
		case rest[0] == '\\':
			if err := t.escape(true); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "[:"):
			end := strings.Index(rest, ":]")
			if end < 0 {
				return t.fail("nested character classes are not supported by proctag")
			}
			t.out.WriteString(rest[:end+2])
			t.pos += end + 2
		case rest[0] == '[':
			return t.fail("nested character classes are not supported by proctag")
		case strings.HasPrefix(rest, "&&") || strings.HasPrefix(rest, "--") || strings.HasPrefix(rest, "~~"):
			return t.fail("class set operation %q is not supported by proctag", rest[:2])
		default:
			_, n := utf8.DecodeRuneInString(rest)
			t.out.WriteString(rest[:n])
			t.pos += n
		}
	}
	return t.fail("unclosed character class")
}
