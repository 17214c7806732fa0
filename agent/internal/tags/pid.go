package tags

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// parsePID reads a pid the way serde_yaml 0.9 deserializes a u64
// (visit_scalar and visit_untagged_str in its de.rs): an explicit !!int
// tag parses as a decimal i64; an untagged plain scalar may be decimal,
// 0x/0o/0b, with an optional '+'; anything else (quoted, negative, float,
// bool, null, a decimal with a leading zero, which YAML 1.2 calls a string)
// is rejected.
func parsePID(n *yaml.Node) (uint64, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("line %d: pid is %s, not a number", n.Line, describe(n))
	}
	v := n.Value
	bad := fmt.Errorf("line %d: pid %q is not a non-negative integer", n.Line, v)
	if n.Style&yaml.TaggedStyle != 0 {
		if n.Tag != "!!int" {
			return 0, bad
		}
		i, ok := rustInt(v)
		if !ok || i < 0 {
			return 0, bad
		}
		return uint64(i), nil
	}
	if n.Style&quotedStyles != 0 {
		return 0, fmt.Errorf("line %d: pid %q is a quoted string, not a number", n.Line, v)
	}
	if u, ok := untaggedUint(v); ok {
		return u, nil
	}
	return 0, bad
}

// untaggedUint mirrors the integer branches of serde_yaml's
// visit_untagged_str as seen by a u64 visitor.
func untaggedUint(v string) (uint64, bool) {
	for _, p := range []struct {
		prefix string
		base   uint64
	}{{"0x", 16}, {"0o", 8}, {"0b", 2}} {
		rest, ok := strings.CutPrefix(v, p.prefix)
		if !ok {
			rest, ok = strings.CutPrefix(v, "+"+p.prefix)
		}
		if ok {
			if u, ok := rustUint(rest, p.base); ok {
				return u, true
			}
		}
		if rest, ok := strings.CutPrefix(v, "-"+p.prefix); ok {
			// i64::from_str_radix("-"+rest): only zero fits a u64.
			if u, ok := rustUint(rest, p.base); ok && u == 0 && !strings.HasPrefix(rest, "+") {
				return 0, true
			}
		}
	}
	digits := strings.TrimLeft(v, "+-")
	if len(digits) > 1 && digits[0] == '0' && allDigits(digits[1:]) {
		return 0, false // "0123" is a string in YAML 1.2
	}
	if u, ok := rustUint(v, 10); ok {
		return u, true
	}
	// u128 values are out of range for u64; i64 values reach the u64
	// visitor, which accepts only the non-negative ones ("-0").
	if i, ok := rustInt(v); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

// rustUint is Rust's u64::from_str_radix: an optional '+', then at least
// one digit of the base, no separators, no overflow.
func rustUint(s string, base uint64) (uint64, bool) {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, false
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		d, ok := digitValue(s[i])
		if !ok || d >= base {
			return 0, false
		}
		if u > (1<<64-1-d)/base {
			return 0, false
		}
		u = u*base + d
	}
	return u, true
}

// rustInt is Rust's i64::from_str: an optional sign and decimal digits.
func rustInt(s string) (int64, bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if strings.HasPrefix(s, "+") {
		return 0, false
	}
	u, ok := rustUint(s, 10)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u-1) - 1, true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

func digitValue(c byte) (uint64, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0'), true
	case 'a' <= c && c <= 'z':
		return uint64(c-'a') + 10, true
	case 'A' <= c && c <= 'Z':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
