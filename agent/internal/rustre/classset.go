package rustre

import (
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rust's classes nest ([a[bc]]) and combine with set operations: && (and),
// -- (minus) and ~~ (symmetric difference). Go has neither, so such a
// class is computed here as a set of runes and written out as ranges. The
// precedence is regex-syntax's: a range binds tightest, then the union of
// adjacent items, then the operations from left to right, then the class's
// own negation. Under (?i) every operand is case-folded before the
// operations, as Rust folds class items; the result is then closed under
// folding, so Go's own folding of it changes nothing.

// maxClassNest bounds nested classes, as regex-syntax's nest limit does.
const maxClassNest = 250

// needsSetClass reports whether the class that s starts with (at its '[')
// nests a class or uses a set operation.
func needsSetClass(s string) bool {
	i := 1
	if i < len(s) && s[i] == '^' {
		i++
	}
	if i < len(s) && s[i] == ']' {
		i++ // a ']' first is a literal
	}
	for i < len(s) {
		rest := s[i:]
		switch {
		case rest[0] == '\\':
			i += 2
		case strings.HasPrefix(rest, "[:"):
			end := strings.Index(rest, ":]")
			if end < 0 {
				return true
			}
			i += end + 2
		case rest[0] == '[':
			return true
		case rest[0] == ']':
			return false
		case strings.HasPrefix(rest, "&&") || strings.HasPrefix(rest, "--") || strings.HasPrefix(rest, "~~"):
			return true
		default:
			i++
		}
	}
	return false
}

// setClass translates the class at t.pos by computing its runes.
func (t *translator) setClass() error {
	rs, err := t.classSet()
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		t.out.WriteString(`[^\x{0}-\x{10ffff}]`) // an empty class matches nothing
		return nil
	}
	if t.asciiFold() {
		// rs is folded already, ASCII only: Go must not fold it again.
		t.out.WriteString("(?-i:[" + formatRanges(rs) + "])")
		return nil
	}
	t.out.WriteString("[" + formatRanges(rs) + "]")
	return nil
}

// classSet parses the bracketed class at t.pos, nested classes included,
// and returns its runes, sorted and merged.
func (t *translator) classSet() ([]runeRange, error) {
	start := t.pos
	if t.classDepth++; t.classDepth > maxClassNest {
		return nil, t.fail("classes nested deeper than %d", maxClassNest)
	}
	defer func() { t.classDepth-- }()
	t.pos++
	negated := t.pos < len(t.src) && t.src[t.pos] == '^'
	if negated {
		if !t.uni {
			return nil, t.fail("negated class with Unicode mode off can match invalid UTF-8, which Rust rejects")
		}
		t.pos++
	}
	var acc, cur []runeRange
	op := ""
	first := true
	for {
		if t.pos >= len(t.src) {
			t.pos = start
			return nil, t.fail("unclosed character class")
		}
		if t.skipSpace() {
			continue
		}
		rest := t.src[t.pos:]
		if rest[0] == ']' && !first {
			t.pos++
			acc = setOp(op, acc, t.folded(cur))
			if negated {
				acc = complement(acc)
			}
			return acc, nil
		}
		if strings.HasPrefix(rest, "&&") || strings.HasPrefix(rest, "--") || strings.HasPrefix(rest, "~~") {
			acc, cur, op = setOp(op, acc, t.folded(cur)), nil, rest[:2]
			t.pos += 2
			first = false
			continue
		}
		first = false
		item, single, err := t.classItem()
		if err != nil {
			return nil, err
		}
		if single >= 0 && strings.HasPrefix(t.src[t.pos:], "-") && !strings.HasPrefix(t.src[t.pos:], "--") &&
			!strings.HasPrefix(t.src[t.pos:], "-]") && t.pos+1 < len(t.src) {
			t.pos++
			_, hi, err := t.classItem()
			if err != nil {
				return nil, err
			}
			if hi < 0 || hi < single {
				return nil, t.fail("invalid class range")
			}
			item = []runeRange{{single, hi}}
		}
		cur = append(cur, item...)
	}
}

// classItem parses one item of a class: a nested class, a POSIX class, an
// escape or a character. single is the item's rune when it is exactly one
// character (a possible range end), else -1.
func (t *translator) classItem() (item []runeRange, single rune, err error) {
	rest := t.src[t.pos:]
	switch {
	case strings.HasPrefix(rest, "[:") && strings.Contains(rest, ":]"):
		end := strings.Index(rest, ":]")
		t.pos += end + 2
		item, err = goClassRanges(rest[:end+2])
		return item, -1, err
	case rest[0] == '[':
		item, err = t.classSet()
		return item, -1, err
	case rest[0] == '\\':
		saved := t.out
		t.out = outBuf{}
		err = t.escape(true)
		body := t.out.String()
		t.out = saved
		if err != nil {
			return nil, -1, err
		}
		if item, err = goClassRanges(body); err != nil {
			return nil, -1, t.fail("%v", err)
		}
		if len(item) == 1 && item[0].lo == item[0].hi && !strings.HasPrefix(body, `\p`) && !strings.HasPrefix(body, `\P`) {
			return item, item[0].lo, nil
		}
		return item, -1, nil
	}
	r, n := utf8.DecodeRuneInString(rest)
	t.pos += n
	return []runeRange{{r, r}}, r, nil
}

// goClassRanges returns the runes of Go class items body.
func goClassRanges(body string) ([]runeRange, error) {
	re, err := syntax.Parse("["+body+"]", syntax.Perl)
	if err != nil {
		return nil, err
	}
	var out []runeRange
	switch re.Op {
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			out = append(out, runeRange{re.Rune[i], re.Rune[i+1]})
		}
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			out = append(out, runeRange{r, r})
		}
	case syntax.OpAnyChar:
		out = []runeRange{{0, unicode.MaxRune}}
	case syntax.OpAnyCharNotNL:
		out = []runeRange{{0, '\n' - 1}, {'\n' + 1, unicode.MaxRune}}
	}
	return mergeRanges(out), nil
}

// folded returns rs sorted and merged, closed under simple case folding
// when the i flag is on: Unicode folding, or ASCII folding of ASCII
// letters with Unicode mode off, as regex-syntax folds class items.
func (t *translator) folded(rs []runeRange) []runeRange {
	if !t.fold {
		return mergeRanges(rs)
	}
	out := append([]runeRange(nil), rs...)
	if !t.uni {
		for _, r := range rs {
			for c := r.lo; c <= min(r.hi, unicode.MaxASCII); c++ {
				switch {
				case c >= 'a' && c <= 'z':
					out = append(out, runeRange{c - 'a' + 'A', c - 'a' + 'A'})
				case c >= 'A' && c <= 'Z':
					out = append(out, runeRange{c - 'A' + 'a', c - 'A' + 'a'})
				}
			}
		}
		return mergeRanges(out)
	}
	for _, r := range rs {
		for c := r.lo; c <= r.hi; c++ {
			for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
				out = append(out, runeRange{f, f})
			}
		}
	}
	return mergeRanges(out)
}

// setOp combines acc with cur (both sorted and merged) by op: "" (cur is
// the first operand), "&&", "--" or "~~".
func setOp(op string, acc, cur []runeRange) []runeRange {
	switch op {
	case "&&":
		return intersect(acc, cur)
	case "--":
		return intersect(acc, complement(cur))
	case "~~":
		return mergeRanges(append(intersect(acc, complement(cur)), intersect(cur, complement(acc))...))
	}
	return cur
}

// intersect returns the runes in both a and b (sorted, merged).
func intersect(a, b []runeRange) []runeRange {
	var out []runeRange
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			out = append(out, runeRange{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}
