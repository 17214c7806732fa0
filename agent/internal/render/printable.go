package render

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Printable returns s with every rune that a terminal would act on instead
// of showing written out as an escape (`\x1b`, `\u202e`): the C0 and C1
// controls (ESC and CSI start the sequences that move the cursor, clear the
// screen, set the window title or write to the clipboard), DEL, the
// bidirectional overrides and isolates (they reorder what is shown, so a
// name can read as another), and bytes that are not UTF-8. Runes in keep
// are left as they are (e.g. "\n" for text of several lines).
//
// A process chooses its own cmdline and name, a plugin its tags and a
// client on the bus its host id: what the agent prints to an operator's
// terminal goes through Printable.
func Printable(s, keep string) string {
	i := firstUnprintable(s, keep)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !printable(r) && !strings.ContainsRune(keep, r):
			if r < 0x80 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// firstUnprintable returns the index of the first rune of s that Printable
// escapes, or -1.
func firstUnprintable(s, keep string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
		if !printable(r) && !strings.ContainsRune(keep, r) {
			return i
		}
	}
	return -1
}

// printable reports whether a terminal shows r as itself.
func printable(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return false
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return false
	}
	return true
}
