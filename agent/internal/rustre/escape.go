package rustre

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Rust's escapes that Go lacks or reads differently: Unicode \d \s \w and
// \b, \u and \U code points, \x{…} that must not read as a repetition,
// and the escapes Rust rejects (back-references, \< \>, unknown letters).

// escape translates one backslash escape, inside a class or not.
func (t *translator) escape(inClass bool) error {
	if t.pos+1 >= len(t.src) {
		return t.fail("incomplete escape sequence")
	}
	c := t.src[t.pos+1]
	switch c {
	case 'd', 'D', 's', 'S', 'w', 'W':
		return t.perlClass(c, inClass)
	case 'b', 'B':
		if inClass {
			return t.fail(`\%c is not allowed in a character class`, c)
		}
		if !t.uni && c == 'B' {
			return t.fail(`\B with Unicode mode off can match invalid UTF-8, which Rust rejects`)
		}
		if t.uni {
			t.res.wordBoundary = true
		} else {
			t.asciiBoundary = true
		}
		if t.res.wordBoundary && t.asciiBoundary {
			return t.fail("ASCII (?-u) and Unicode word boundaries in one pattern are not supported by proctag")
		}
	case 'A', 'z', 'a', 'f', 't', 'n', 'r', 'v':
	case 'x', 'u', 'U':
		return t.codepoint(c)
	case 'p', 'P':
		return t.property(c == 'P', inClass)
	case '<', '>':
		return t.fail(`\%c is not supported by Rust regex 1.8`, c)
	default:
		switch {
		case c >= '0' && c <= '9':
			return t.fail("back-references are not supported")
		case c >= utf8.RuneSelf:
			return t.fail("escaping a non-ASCII character is not allowed")
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			return t.fail(`unknown escape \%c`, c)
		}
	}
	t.out.WriteString(t.src[t.pos : t.pos+2])
	t.pos += 2
	return nil
}

func (t *translator) perlClass(c byte, inClass bool) error {
	var pos, neg string
	if !t.uni {
		if c == 'D' || c == 'S' || c == 'W' {
			return t.fail(`\%c with Unicode mode off can match invalid UTF-8, which Rust rejects`, c)
		}
		// Rust's ASCII \s includes \v, Go's does not.
		pos = map[byte]string{'d': `0-9`, 'w': `0-9A-Za-z_`, 's': `\t\n\v\f\r `}[c]
	} else {
		cl := classes()
		switch c {
		case 'd', 'D':
			pos, neg = `\p{Nd}`, `\P{Nd}`
		case 'w', 'W':
			pos, neg = cl.word, cl.notWord
		case 's', 'S':
			pos, neg = cl.space, cl.notSpace
		}
	}
	t.pos += 2
	body := pos
	if c == 'D' || c == 'S' || c == 'W' {
		body = neg
	}
	switch {
	case inClass:
		t.out.WriteString(body)
	case t.asciiFold():
		// Go would add the Unicode case variants of the ASCII letters.
		t.out.WriteString("(?-i:[" + body + "])")
	default:
		t.out.WriteString("[" + body + "]")
	}
	return nil
}

// codepoint turns Rust's \xXX, \x{X…}, \uXXXX, \u{X…}, \UXXXXXXXX and
// \U{X…} into Go's \x{…}, whole: left to the generic path, the braces of
// \x{e9} would read as a repetition.
func (t *translator) codepoint(c byte) error {
	rest := t.src[t.pos+2:]
	var hex string
	if strings.HasPrefix(rest, "{") {
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return t.fail(`unclosed \%c{...}`, c)
		}
		hex = rest[1:end]
		t.pos += 2 + end + 1
	} else {
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if len(rest) < n {
			return t.fail(`\%c needs %d hex digits`, c, n)
		}
		hex = rest[:n]
		t.pos += 2 + n
	}
	for i := 0; i < len(hex); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(hex[i])) {
			return t.fail(`invalid hex digit in \%c escape`, c)
		}
	}
	if hex == "" || len(hex) > 8 {
		return t.fail(`invalid \%c escape`, c)
	}
	if r, err := strconv.ParseUint(hex, 16, 32); err == nil {
		if lit, ok := t.asciiFoldLiteral(rune(r)); ok {
			t.out.WriteString(lit)
			return nil
		}
	}
	t.out.WriteString(`\x{` + hex + `}`)
	return nil
}
