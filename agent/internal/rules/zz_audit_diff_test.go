package rules

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestZZAuditDiff(t *testing.T) {
	in := os.Getenv("ZZ_CASES")
	if in == "" {
		t.Skip()
	}
	f, _ := os.Open(in)
	defer f.Close()
	out, _ := os.Create(os.Getenv("ZZ_OUT"))
	defer out.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\x1f")
		for i := range parts {
			b, _ := hex.DecodeString(parts[i])
			parts[i] = string(b)
		}
		pat, tpl, subj := parts[0], parts[1], parts[2]
		s, errs := Compile([]Spec{{MatchRegex: pat, RewriteName: tpl}}, nil)
		if len(errs) > 0 {
			fmt.Fprintf(out, "ERR\t%s\n", strings.ReplaceAll(errs[0].Error(), "\n", " "))
			continue
		}
		v := NewEvaluator(s, false).Evaluate([]Proc{{PID: 10, PPID: 1, StartTicks: 1, HasArgv: true, ProcessName: subj, Cmdline: subj}})[0]
		fmt.Fprintf(out, "%v\t%s\n", v.MatchedRule == 0, hex.EncodeToString([]byte(v.Name)))
	}
}
