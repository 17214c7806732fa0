package rustre

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Template is a replacement template compiled against its Regexp,
// following the Rust regex crate 1.8 (regex/src/expand.rs, expand_str):
//   - "$$" is a literal '$';
//   - "$name" takes the longest run of [0-9A-Za-z_] as the name, so "$1a"
//     is the group named "1a" (never exists → empty), not group 1 + "a";
//   - "${name}" takes everything up to the next '}';
//   - a name that parses as a u32 (Rust's str::parse, so "+1" and "01"
//     too) is a group number, else a group name;
//   - a missing or non-participating group expands to "";
//   - a '$' that starts no reference ("$", "$-", "${x" unclosed) is kept.
//
// Go's Regexp.Expand differs: it reads "$1a" as group "1a" too, but
// treats an invalid reference as empty and "${+1}" as a name. A Template
// never fails to compile: whatever is not a reference is literal text. It
// is immutable and safe for concurrent use.
type Template struct {
	re     *Regexp
	src    string
	pieces []tmplPiece
}

// tmplPiece is literal text followed by a capture reference.
type tmplPiece struct {
	lit   string
	group int // capture index, or noGroup
}

const noGroup = -1

// Template compiles template for r: group references are resolved once,
// against r's capture groups.
func (r *Regexp) Template(template string) *Template {
	t := &Template{re: r, src: template}
	ngroups := r.NumSubexp()
	var lit strings.Builder
	tpl := template
	for tpl != "" {
		i := strings.IndexByte(tpl, '$')
		if i < 0 {
			break
		}
		lit.WriteString(tpl[:i])
		tpl = tpl[i:]
		if len(tpl) > 1 && tpl[1] == '$' {
			lit.WriteByte('$')
			tpl = tpl[2:]
			continue
		}
		ref, end, ok := findCapRef(tpl)
		if !ok {
			lit.WriteByte('$')
			tpl = tpl[1:]
			continue
		}
		tpl = tpl[end:]
		group := noGroup
		if n, err := parseRustU32(ref); err == nil {
			if n <= uint64(ngroups) {
				group = int(n)
			}
		} else if g := r.SubexpIndex(ref); g >= 0 {
			group = g
		}
		t.pieces = append(t.pieces, tmplPiece{lit: lit.String(), group: group})
		lit.Reset()
	}
	lit.WriteString(tpl)
	if lit.Len() > 0 {
		t.pieces = append(t.pieces, tmplPiece{lit: lit.String(), group: noGroup})
	}
	return t
}

// String returns the template as given to Regexp.Template.
func (t *Template) String() string { return t.src }

// findCapRef reads the reference after the '$' at tpl[0]: its name and
// where it ends, like find_cap_ref / find_cap_ref_braced in Rust.
func findCapRef(tpl string) (name string, end int, ok bool) {
	if len(tpl) <= 1 || tpl[0] != '$' {
		return "", 0, false
	}
	if tpl[1] == '{' {
		close := strings.IndexByte(tpl[2:], '}')
		if close < 0 {
			return "", 0, false
		}
		name := tpl[2 : 2+close]
		if !utf8.ValidString(name) {
			return "", 0, false
		}
		return name, 2 + close + 1, true
	}
	i := 1
	for i < len(tpl) && isCapLetter(tpl[i]) {
		i++
	}
	if i == 1 {
		return "", 0, false
	}
	return tpl[1:i], i, true
}

func isCapLetter(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_'
}

// parseRustU32 is Rust's u32::from_str: optional '+', then ASCII digits,
// no overflow.
func parseRustU32(s string) (uint64, error) {
	s = strings.TrimPrefix(s, "+")
	if s == "" || s[0] == '-' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, 10, 32)
}

// appendExpand appends the template expanded for one match (m holds
// submatch index pairs into subject, -1 for non-participating groups).
func (t *Template) appendExpand(dst []byte, subject string, m []int) []byte {
	for _, p := range t.pieces {
		dst = append(dst, p.lit...)
		if p.group == noGroup || 2*p.group+1 >= len(m) {
			continue
		}
		if s, e := m[2*p.group], m[2*p.group+1]; s >= 0 && e >= 0 {
			dst = append(dst, subject[s:e]...)
		}
	}
	return dst
}

// ReplaceAllString is Rust's Regex::replace_all(src, template): every
// match of the template's Regexp, in order (see
// Regexp.FindAllStringSubmatchIndex), replaced by the expanded template,
// text between matches kept. Without a match it returns src itself.
func (t *Template) ReplaceAllString(src string) string {
	return t.replace(src, t.re.FindAllStringSubmatchIndex(src, -1))
}

// replace replaces matches (submatch indexes in src, in order) by the
// expanded template.
func (t *Template) replace(src string, matches [][]int) string {
	if len(matches) == 0 {
		return src
	}
	buf := make([]byte, 0, len(src)+16)
	last := 0
	for _, m := range matches {
		buf = append(buf, src[last:m[0]]...)
		buf = t.appendExpand(buf, src, m)
		last = m[1]
	}
	buf = append(buf, src[last:]...)
	return string(buf)
}
