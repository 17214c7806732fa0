package redact

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Mask replaces every hidden span.
const Mask = "***"

// Redactor applies a fixed list of patterns to cmdlines. It is immutable and
// safe for concurrent use; a nil *Redactor redacts nothing.
type Redactor struct {
	rules []rule
}

// rule is one compiled pattern and the keywords that gate it (anyKeyword
// for user patterns).
type rule struct {
	re    *regexp.Regexp
	needs uint32
}

// Compile builds a Redactor from the built-in patterns (when useDefaults)
// followed by patterns, Go regexps (RE2 syntax). The config maps an absent
// cmdline-redact to Compile(nil, true), an empty list to Compile(nil, false)
// (redaction off) and a list to Compile(list, false). A pattern that does not
// compile is an error naming its index in patterns.
func Compile(patterns []string, useDefaults bool) (*Redactor, error) {
	var r Redactor
	if useDefaults {
		for i, p := range defaultPatterns {
			r.rules = append(r.rules, rule{re: regexp.MustCompile(p), needs: defaultNeeds[i]})
		}
	}
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("pattern %d: %w", i, err)
		}
		r.rules = append(r.rules, rule{re: re, needs: anyKeyword})
	}
	return &r, nil
}

// Cmdline returns s with every secret the patterns find replaced by Mask.
// Every pattern is matched against s itself (not against another pattern's
// output) and the hidden spans are merged, so one pattern's mask cannot stop
// another from finding its secret. When nothing matches, s itself is
// returned without allocating.
func (r *Redactor) Cmdline(s string) string {
	if r == nil {
		return s
	}
	var spans []span
	var present uint32
	if len(r.rules) > 0 {
		present = keywordsIn(s)
	}
	for _, ru := range r.rules {
		if ru.needs != anyKeyword && present&ru.needs == 0 {
			continue
		}
		if ru.re.MatchString(s) {
			spans = appendSpans(spans, ru.re, s)
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(x, y span) int { return x.start - y.start })
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for i := 0; i < len(spans); i++ {
		sp := spans[i]
		for i+1 < len(spans) && spans[i+1].start <= sp.end {
			sp.end = max(sp.end, spans[i+1].end)
			i++
		}
		b.WriteString(s[last:sp.start])
		b.WriteString(Mask)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// span is a byte range [start, end) of the input to hide.
type span struct{ start, end int }

// appendSpans adds what re hides in s: each match's participating,
// non-empty groups, or the whole match when re has no groups.
func appendSpans(spans []span, re *regexp.Regexp, s string) []span {
	groups := re.NumSubexp()
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		if groups == 0 {
			if m[1] > m[0] {
				spans = append(spans, span{m[0], m[1]})
			}
			continue
		}
		for g := 1; g <= groups; g++ {
			if a, b := m[2*g], m[2*g+1]; a >= 0 && b > a {
				spans = append(spans, span{a, b})
			}
		}
	}
	return spans
}
