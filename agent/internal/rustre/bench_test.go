package rustre

import (
	"regexp"
	"testing"
)

// BenchmarkMatch compares a Regexp with Go's regexp running the same
// translated pattern (the baseline, with ASCII \b): equal on ASCII
// subjects, and the cost of the Unicode \b backtracker on non-ASCII ones.
func BenchmarkMatch(b *testing.B) {
	cases := []struct{ name, pattern, subject string }{
		{"unicode-w", `java .*-jar (?:.*/)?([\w.-]+)\.jar.*`, "java -Xmx1g -jar /opt/app/service-1.jar --port 8080"},
		{"boundary-ascii", `node .*\b(\w+)\.js\b.*`, "node /srv/web/server1.js --port 80"},
		{"boundary-non-ascii", `node .*\b(\w+)\.js\b.*`, "node /srv/wéb/sérver1.js --port 80"},
	}
	for _, c := range cases {
		re := mustCompile(b, c.pattern)
		base := regexp.MustCompile(re.GoPattern())
		b.Run(c.name+"/rustre", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				re.MatchString(c.subject)
			}
		})
		b.Run(c.name+"/regexp", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				base.MatchString(c.subject)
			}
		})
	}
}

// BenchmarkReplaceAll measures a cmdline rewrite with a compiled template.
func BenchmarkReplaceAll(b *testing.B) {
	tm := mustCompile(b, `python3 (.*)\.py.*`).Template("$1-py-script")
	b.ReportAllocs()
	for b.Loop() {
		tm.ReplaceAllString("python3 /srv/app/billing.py --port 80")
	}
}
