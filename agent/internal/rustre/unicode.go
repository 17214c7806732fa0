package rustre

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// Rust's regex crate (1.8) gives \w, \d, \s and \b their Unicode meaning
// (UTS#18 Annex C): \d is \p{Nd}; \s is \p{White_Space}; \w is
// \p{Alphabetic} + \p{M} + \p{Nd} + \p{Pc} + \p{Join_Control}, where
// Alphabetic = Lu+Ll+Lt+Lm+Lo+Nl+Other_Alphabetic+Other_Lowercase+
// Other_Uppercase. Go's RE2 classes are ASCII, and Go's syntax has no
// binary properties, so the classes are spelled out here from Go's unicode
// tables.

type runeRange struct{ lo, hi rune }

// unicodeClasses holds the class bodies (without brackets) used by the
// translator.
type unicodeClasses struct {
	word, notWord   string // positive items, complement ranges
	space, notSpace string
	alphabetic      string
	wordRanges      []runeRange
}

var classes = sync.OnceValue(buildClasses)

func buildClasses() *unicodeClasses {
	base := []*unicode.RangeTable{unicode.L, unicode.M, unicode.Nd, unicode.Pc, unicode.Nl}
	extra := []*unicode.RangeTable{unicode.Other_Alphabetic, unicode.Other_Lowercase,
		unicode.Other_Uppercase, unicode.Join_Control}
	var extraRanges []runeRange
	for _, t := range extra {
		forEachRune(t, func(r rune) {
			if !unicode.IsOneOf(base, r) {
				extraRanges = append(extraRanges, runeRange{r, r})
			}
		})
	}
	extraRanges = mergeRanges(extraRanges)
	var all []runeRange
	for _, t := range append(base, extra...) {
		all = append(all, tableRanges(t)...)
	}
	all = mergeRanges(all)
	c := &unicodeClasses{wordRanges: all}
	alpha := []*unicode.RangeTable{unicode.L, unicode.Nl, unicode.Other_Alphabetic,
		unicode.Other_Lowercase, unicode.Other_Uppercase}
	var alphaRanges []runeRange
	for _, t := range alpha {
		alphaRanges = append(alphaRanges, tableRanges(t)...)
	}
	c.alphabetic = formatRanges(mergeRanges(alphaRanges))
	c.word = `\p{L}\p{M}\p{Nd}\p{Pc}\p{Nl}` + formatRanges(extraRanges)
	c.notWord = formatRanges(complement(all))
	space := mergeRanges(tableRanges(unicode.White_Space))
	c.space = formatRanges(space)
	c.notSpace = formatRanges(complement(space))
	return c
}

// isWordRune reports whether r is a Unicode word character as Rust's \w
// defines it.
func isWordRune(r rune) bool {
	rs := classes().wordRanges
	i := sort.Search(len(rs), func(i int) bool { return rs[i].hi >= r })
	return i < len(rs) && rs[i].lo <= r
}

func forEachRune(t *unicode.RangeTable, f func(rune)) {
	for _, r := range tableRanges(t) {
		for c := r.lo; c <= r.hi; c++ {
			f(c)
		}
	}
}

func tableRanges(t *unicode.RangeTable) []runeRange {
	var out []runeRange
	for _, r := range t.R16 {
		out = appendStrided(out, rune(r.Lo), rune(r.Hi), rune(r.Stride))
	}
	for _, r := range t.R32 {
		out = appendStrided(out, rune(r.Lo), rune(r.Hi), rune(r.Stride))
	}
	return out
}

func appendStrided(out []runeRange, lo, hi, stride rune) []runeRange {
	if stride == 1 {
		return append(out, runeRange{lo, hi})
	}
	for c := lo; c <= hi; c += stride {
		out = append(out, runeRange{c, c})
	}
	return out
}

func mergeRanges(rs []runeRange) []runeRange {
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	var out []runeRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func complement(rs []runeRange) []runeRange {
	var out []runeRange
	next := rune(0)
	for _, r := range rs {
		if r.lo > next {
			out = append(out, runeRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= unicode.MaxRune {
		out = append(out, runeRange{next, unicode.MaxRune})
	}
	return out
}

func formatRanges(rs []runeRange) string {
	var b strings.Builder
	for _, r := range rs {
		if r.lo == r.hi {
			fmt.Fprintf(&b, `\x{%x}`, r.lo)
			continue
		}
		fmt.Fprintf(&b, `\x{%x}-\x{%x}`, r.lo, r.hi)
	}
	return b.String()
}
