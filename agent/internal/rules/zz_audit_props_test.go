package rules

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
)

func zzLines(p string) []string {
	b, _ := os.ReadFile(p)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		d, _ := hex.DecodeString(l)
		out = append(out, string(d))
	}
	return out
}

func TestZZAuditProps(t *testing.T) {
	if os.Getenv("ZZ_PROPS") == "" {
		t.Skip()
	}
	pats, subs := zzLines(os.Getenv("ZZ_PROPS")), zzLines(os.Getenv("ZZ_SUBJ"))
	out, _ := os.Create(os.Getenv("ZZ_OUT"))
	defer out.Close()
	for _, p := range pats {
		s, errs := Compile([]Spec{{MatchRegex: p}}, nil)
		if len(errs) > 0 {
			fmt.Fprintln(out, "ERR")
			continue
		}
		r := s.rules[0]
		var b strings.Builder
		for _, x := range subs {
			if r.match(x) {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		fmt.Fprintln(out, b.String())
	}
}
