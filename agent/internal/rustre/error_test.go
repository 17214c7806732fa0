package rustre

import (
	"errors"
	"regexp/syntax"
	"testing"
)

// Compile's errors are *Error with the pattern, the offset where the
// translation stopped (-1 when Go's parser refused the translation) and,
// for Go's refusals, its *syntax.Error.
func TestError(t *testing.T) {
	tests := []struct {
		name, pattern string
		offset        int
		message       string
		goCode        syntax.ErrorCode // "" when the translation refused
	}{
		{"look-ahead at its group", `foo(?=bar)`, 3, "look-around is not supported at offset 3", ""},
		{"back-reference at its escape", `(a)\1`, 3, "back-references are not supported at offset 3", ""},
		{"unknown property at its escape", `ab\p{Bogus}`, 2, `Unicode class "Bogus" is not supported by proctag at offset 2`, ""},
		{"CRLF mode", `x(?R)`, 1, "CRLF mode (?R) is not supported by proctag at offset 1", ""},
		{"Go's repetition limit", `a{1001}`, -1, "error parsing regexp: invalid repeat count: `{1001}`", syntax.ErrInvalidRepeatSize},
		{"unbalanced parenthesis", `(a`, -1, "error parsing regexp: missing closing ): `(a`", syntax.ErrMissingParen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re, err := Compile(tt.pattern)
			if err == nil {
				t.Fatalf("Compile(%q) = %q, want an error", tt.pattern, re.GoPattern())
			}
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if e.Pattern != tt.pattern || e.Offset != tt.offset || err.Error() != tt.message {
				t.Fatalf("error = {%q %d %q}, want {%q %d %q}", e.Pattern, e.Offset, err, tt.pattern, tt.offset, tt.message)
			}
			se, isSyntax := errors.AsType[*syntax.Error](err)
			switch {
			case tt.goCode == "" && isSyntax:
				t.Fatalf("translation error wraps %v", se)
			case tt.goCode != "" && (!isSyntax || se.Code != tt.goCode):
				t.Fatalf("error wraps %v, want a *syntax.Error %q", e.Err, tt.goCode)
			}
		})
	}
}

// Compile keeps the Rust pattern; GoPattern is the translation.
func TestStringAndGoPattern(t *testing.T) {
	re := mustCompile(t, `(?<svc>\d+)`)
	if re.String() != `(?<svc>\d+)` {
		t.Errorf("String() = %q", re.String())
	}
	if re.GoPattern() != `(?P<svc>[\p{Nd}]+)` {
		t.Errorf("GoPattern() = %q", re.GoPattern())
	}
	if re.NumSubexp() != 1 || re.SubexpIndex("svc") != 1 || re.SubexpNames()[1] != "svc" {
		t.Errorf("groups: %d %d %q", re.NumSubexp(), re.SubexpIndex("svc"), re.SubexpNames())
	}
}
