package rustre

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Rust's \p{…} accepts general categories, scripts and binary properties by
// their long or short names with "loose matching" (case, spaces, '_' and '-'
// ignored; UTS#18 / UAX#44-LM3), and the forms gc=X, sc=X, Script=X. Go
// accepts only the exact short category names and script names. propClass
// maps a Rust name to the Go class body that means the same set, or ""
// when proctag does not know it (the rule is then skipped with that reason).

// gcLongNames are the general category aliases of PropertyValueAliases.txt.
var gcLongNames = map[string]string{
	"letter": "L", "uppercaseletter": "Lu", "lowercaseletter": "Ll",
	"titlecaseletter": "Lt", "modifierletter": "Lm", "otherletter": "Lo",
	"mark": "M", "combiningmark": "M", "nonspacingmark": "Mn", "spacingmark": "Mc", "enclosingmark": "Me",
	"number": "N", "decimalnumber": "Nd", "digit": "Nd", "letternumber": "Nl", "othernumber": "No",
	"punctuation": "P", "punct": "P", "connectorpunctuation": "Pc", "dashpunctuation": "Pd",
	"openpunctuation": "Ps", "closepunctuation": "Pe", "initialpunctuation": "Pi",
	"finalpunctuation": "Pf", "otherpunctuation": "Po",
	"symbol": "S", "mathsymbol": "Sm", "currencysymbol": "Sc", "modifiersymbol": "Sk", "othersymbol": "So",
	"separator": "Z", "spaceseparator": "Zs", "lineseparator": "Zl", "paragraphseparator": "Zp",
	"other": "C", "control": "Cc", "cntrl": "Cc", "format": "Cf", "surrogate": "Cs",
	"privateuse": "Co", "unassigned": "Cn",
}

type propIndex struct {
	gc     map[string]string                // loose name -> Go class items
	script map[string]string                // loose name -> Go script name
	binary map[string][]*unicode.RangeTable // loose name -> union of tables
}

var props = sync.OnceValue(func() *propIndex {
	ix := &propIndex{gc: map[string]string{}, script: map[string]string{}, binary: map[string][]*unicode.RangeTable{}}
	for name := range unicode.Categories {
		ix.gc[looseName(name)] = `\p{` + name + `}`
	}
	for long, short := range gcLongNames {
		ix.gc[long] = `\p{` + short + `}`
	}
	ix.gc["lc"] = `\p{Lu}\p{Ll}\p{Lt}`
	ix.gc["casedletter"] = ix.gc["lc"]
	for name := range unicode.Scripts {
		ix.script[looseName(name)] = name
	}
	for name, t := range unicode.Properties {
		ix.binary[looseName(name)] = []*unicode.RangeTable{t}
	}
	// Derived core properties (DerivedCoreProperties.txt) that Go's tables
	// lack, by their definitions, and the aliases Rust accepts.
	for _, d := range []struct {
		names  []string
		tables []*unicode.RangeTable
	}{
		{[]string{"lowercase", "lower"}, []*unicode.RangeTable{unicode.Ll, unicode.Other_Lowercase}},
		{[]string{"uppercase", "upper"}, []*unicode.RangeTable{unicode.Lu, unicode.Other_Uppercase}},
		{[]string{"math"}, []*unicode.RangeTable{unicode.Sm, unicode.Other_Math}},
		{[]string{"cased"}, []*unicode.RangeTable{unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase}},
		{[]string{"space", "wspace"}, []*unicode.RangeTable{unicode.White_Space}},
	} {
		for _, n := range d.names {
			ix.binary[n] = d.tables
		}
	}
	return ix
})

func looseName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ', '_', '-', '\t', '\n', '\r', '\v', '\f':
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// propClass returns the Go class items (usable inside [...]) for Rust's
// \p{name}, and whether the name is known.
func propClass(name string) (string, bool) {
	ix := props()
	key, val, hasEq := strings.Cut(name, "=")
	if !hasEq {
		val = ""
		key = name
	}
	if !hasEq {
		k := looseName(key)
		switch k {
		case "any":
			return `\x{0}-\x{10ffff}`, true
		case "alphabetic", "alpha":
			return classes().alphabetic, true
		}
		if g, ok := ix.gc[k]; ok {
			return g, true
		}
		if s, ok := ix.script[k]; ok {
			return scriptClass(s), true
		}
		if ts, ok := ix.binary[k]; ok {
			var rs []runeRange
			for _, t := range ts {
				rs = append(rs, tableRanges(t)...)
			}
			return formatRanges(mergeRanges(rs)), true
		}
		return "", false
	}
	switch looseName(key) {
	case "gc", "generalcategory":
		if g, ok := ix.gc[looseName(val)]; ok {
			return g, true
		}
	case "sc", "script":
		if s, ok := ix.script[looseName(val)]; ok {
			return scriptClass(s), true
		}
	}
	return "", false
}

// scriptClass returns the Go class items of the script named name in
// unicode.Scripts. Go 1.26's parser turns '_' in \p{…} names into spaces
// (regexp/syntax canonicalName), so that \p{Old_Italic} names nothing:
// such scripts are written as their ranges.
func scriptClass(name string) string {
	if !strings.Contains(name, "_") {
		return `\p{` + name + `}`
	}
	return formatRanges(mergeRanges(tableRanges(unicode.Scripts[name])))
}

// property translates \pN, \p{Name}, \p{^Name}, \P{…} with Rust's loose
// name matching.
func (t *translator) property(negated, inClass bool) error {
	if !t.uni {
		return t.fail("Unicode classes are not allowed with Unicode mode off")
	}
	start := t.pos
	rest := t.src[t.pos+2:]
	var name string
	switch {
	case rest == "":
		return t.fail("incomplete Unicode class")
	case rest[0] == '{':
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return t.fail("unclosed Unicode class")
		}
		name = rest[1:end]
		t.pos += 2 + end + 1
	default:
		_, n := utf8.DecodeRuneInString(rest)
		name = rest[:n]
		t.pos += 2 + n
	}
	if strings.HasPrefix(name, "^") {
		negated = !negated
		name = name[1:]
	}
	if k, v, ok := strings.Cut(name, "!="); ok {
		negated = !negated
		name = k + "=" + v
	}
	body, ok := propClass(name)
	if !ok {
		t.pos = start // point at the escape, not after it
		return t.fail("Unicode class %q is not supported by proctag", name)
	}
	switch {
	case !negated && inClass:
		t.out.WriteString(body)
	case !negated:
		t.out.WriteString("[" + body + "]")
	case !inClass:
		t.out.WriteString("[^" + body + "]")
	case strings.Count(body, `\p{`) == 1 && strings.HasPrefix(body, `\p{`) && strings.HasSuffix(body, "}"):
		t.out.WriteString(`\P` + body[2:])
	default:
		t.pos = start
		return t.fail("negated Unicode class %q inside a class is not supported by proctag", name)
	}
	return nil
}
