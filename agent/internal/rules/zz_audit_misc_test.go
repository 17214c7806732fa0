package rules

import "testing"

func TestZZAuditMisc(t *testing.T) {
	for _, p := range []string{`\p{Old_Italic}`, `\p{Greek}`, `\p{Linear_B}`, `\p{New_Tai_Lue}`, `\p{Tai_Le}`, `\p{SignWriting}`, `\p{Lowercase}`, `\p{space}`, `\p{White_Space}`, `\x{e9}`, `\x{41}+`, `(?i)\x{212A}`, `\x{1F600}`} {
		_, errs := Compile([]Spec{{MatchRegex: p}}, nil)
		if len(errs) > 0 {
			t.Logf("%s: %v", p, errs[0])
		} else {
			t.Logf("%s: ok", p)
		}
	}
}
