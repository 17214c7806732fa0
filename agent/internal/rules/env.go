package rules

import "strings"

// Env looks up an environment variable for %VAR% expansion in rewrite-name;
// os.LookupEnv in the agent, a map in tests. It is called only by Compile.
type Env func(name string) (string, bool)

// expandEnv expands %VAR% in a rewrite-name the way DeepFlow does: with
// envmnt::expand(…, ExpansionType::Windows, default_to_empty: true), that
// is envmnt's expand_by_wrapper with prefix and suffix '%'
// (sagiegurari/envmnt src/expansion.rs). The scan, exactly:
//   - outside a name, '%' opens one; other characters are copied;
//   - inside, the next '%' closes it: set → value, unset or "" → nothing
//     (so "%%" is empty);
//   - inside, ' ', '=', '\t', '\n' or '\r' breaks the name: "%" + name and
//     the breaking character are copied literally and scanning goes on
//     outside a name;
//   - at the end, an open non-empty name is copied as "%name"; a lone
//     dangling '%' is dropped.
//
// Names pair left to right, non-greedily: in "%A%B%" the second '%' closes
// A, "B" is text and the third '%' dangles, giving value(A) + "B". All the
// special characters are ASCII, so the scan works on bytes and leaves any
// other byte sequence as it is. used lists the names looked up, for lint.
func expandEnv(s string, env Env) (out string, used []string) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	var name strings.Builder
	open := false
	for i := 0; i < len(s); i++ {
		r := s[i]
		switch {
		case !open && r == '%':
			open = true
			name.Reset()
		case !open:
			b.WriteByte(r)
		case r == '%':
			n := name.String()
			used = append(used, n)
			if n != "" && env != nil {
				if v, ok := env(n); ok {
					b.WriteString(v)
				}
			}
			open = false
		case r == ' ' || r == '=' || r == '\t' || r == '\n' || r == '\r':
			b.WriteByte('%')
			b.WriteString(name.String())
			b.WriteByte(r)
			open = false
		default:
			name.WriteByte(r)
		}
	}
	if open && name.Len() > 0 {
		b.WriteByte('%')
		b.WriteString(name.String())
	}
	return b.String(), used
}
