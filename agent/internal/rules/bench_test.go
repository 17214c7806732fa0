package rules

import (
	"fmt"
	"testing"
)

// benchSpecs is a typical config of about ten rules, mixing every match
// type, Unicode classes and rewrites.
var benchSpecs = []Spec{
	{MatchRegex: `^(kworker|ksoftirqd|migration)`, Action: "drop"},
	{MatchRegex: `^sshd$`, MatchType: "parent_process_name", Action: "drop"},
	{MatchRegex: `^env:test$`, MatchType: "tag", Action: "drop"},
	{MatchRegex: `java .*-jar (?:.*/)?([\w.-]+)\.jar.*`, MatchType: "cmdline", RewriteName: "$1"},
	{MatchRegex: `python3? (?:.*/)?(\w+)\.py.*`, MatchType: "cmdline", RewriteName: "${1}-py"},
	{MatchRegex: `node .*\b(\w+)\.js\b.*`, MatchType: "cmdline", RewriteName: "$1-node"},
	{MatchRegex: `^(nginx|redis-server|postgres)$`},
	{MatchRegex: `^bash$`, Action: "drop"},
	{MatchRegex: `\d{4,}`, MatchType: "cmdline", Action: "drop"},
	{MatchRegex: `^app-(\w+)$`, RewriteName: "svc-$1"},
}

// benchProcs is a host of n processes: a few roots, shells, JVMs, Python
// and Node apps and workers, with tags on one in ten.
func benchProcs(n int) []Proc {
	procs := make([]Proc, 0, n)
	procs = append(procs, p(1, 0, "systemd", "/sbin/init splash"))
	for i := 2; len(procs) < n; i++ {
		ppid := 1
		if i > 10 {
			ppid = 2 + (i*7)%(i-2)
		}
		var pr Proc
		switch i % 8 {
		case 0:
			pr = p(i, ppid, "java", fmt.Sprintf("java -Xmx1g -jar /opt/app%d/service-%d.jar --port %d", i, i%50, 8000+i%100))
		case 1:
			pr = p(i, ppid, "python3", fmt.Sprintf("python3 /srv/app/worker_%d.py --queue q%d", i%30, i%7))
		case 2:
			pr = p(i, ppid, "node", fmt.Sprintf("node /srv/web/server%d.js", i%20))
		case 3:
			pr = p(i, ppid, "bash", "bash -l")
		case 4:
			pr = p(i, ppid, fmt.Sprintf("app-%d", i%40), fmt.Sprintf("/usr/bin/app-%d --config /etc/app.yaml", i%40))
		case 5:
			pr = Proc{PID: i, PPID: 2, StartTicks: uint64(i)}
		case 6:
			pr = p(i, ppid, "nginx", "nginx: worker process")
		default:
			pr = p(i, ppid, "sleep", "sleep infinity")
		}
		if i%10 == 0 {
			pr = withTags(pr, "team", fmt.Sprintf("t%d", i%5), "env", "prod")
		}
		procs = append(procs, pr)
	}
	return procs
}

// BenchmarkEvaluate compares a cold tick (every process new, every regex
// run) with a steady tick (nothing changed, no regex) on 10k processes.
func BenchmarkEvaluate(b *testing.B) {
	procs := benchProcs(10000)
	s := mustCompile(b, benchSpecs, nil)
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewEvaluator(s, false).Evaluate(procs)
		}
	})
	b.Run("steady", func(b *testing.B) {
		e := NewEvaluator(s, false)
		e.Evaluate(procs)
		evals := e.evals
		b.ReportAllocs()
		for b.Loop() {
			e.Evaluate(procs)
		}
		if e.evals != evals {
			b.Fatalf("steady ticks ran %d regexes", e.evals-evals)
		}
	})
}

// BenchmarkCompile measures compiling the typical rule list, Unicode
// class tables included after the first run.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Compile(benchSpecs, nil)
	}
}
