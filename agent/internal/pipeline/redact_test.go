package pipeline

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/rules"
)

// TestSecretsRedactedEverywhere checks that a secret in a command line
// reaches neither the snapshot, nor a plugin's record, nor `proctag
// explain`, whichever field carries it: the cmdline, a name a cmdline
// rule rewrote from it, or a process name taken from an argv rewritten
// into one string with spaces (setproctitle). The rules still see the
// raw text: the rewrite rule matches on it.
func TestSecretsRedactedEverywhere(t *testing.T) {
	const secret = "hunter2"
	tree := &fakeproc.Tree{BootTime: 1, Procs: []fakeproc.Proc{
		{PID: 1, PPID: 0, Comm: "systemd", StartTicks: 20, Argv: []string{"/sbin/init"}, NetNS: fakeproc.HostNetNS},
		{PID: 700, PPID: 1, Comm: "app", StartTicks: 1500, Argv: []string{"/usr/bin/app", "--password=" + secret, "--port", "80"}, NetNS: fakeproc.HostNetNS},
		{PID: 710, PPID: 1, Comm: "python3", StartTicks: 1600, Argv: []string{"python3 /srv/app.py --db-password=" + secret}, NetNS: fakeproc.HostNetNS},
	}}
	root := t.TempDir()
	if err := tree.Write(root); err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, root, []rules.Spec{{MatchRegex: "^/usr/bin/(app.*)", MatchType: "cmdline", RewriteName: "$1"}}, false, "")
	snap, _, err := p.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	procs := byPID(snap)
	for _, tt := range []struct {
		pid                 int
		name, processName   string
		matchedRule         int
		explainShowsCapture string // a capture that holds no secret, shown as it is
	}{
		{pid: 700, name: "app --password=*** --port 80", processName: "app", matchedRule: 0},
		{pid: 710, name: "app.py --db-password=***", processName: "app.py --db-password=***", matchedRule: rules.ImplicitRule},
	} {
		got, ok := procs[tt.pid]
		if !ok {
			t.Fatalf("pid %d not published", tt.pid)
		}
		if got.Name != tt.name || got.ProcessName != tt.processName || got.MatchedRule != tt.matchedRule {
			t.Errorf("pid %d published as name %q process_name %q rule %d, want %q %q %d",
				tt.pid, got.Name, got.ProcessName, got.MatchedRule, tt.name, tt.processName, tt.matchedRule)
		}
		wire, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		i := indexOfPID(p, tt.pid)
		record, err := json.Marshal(p.record(p.last.res.Processes[i], p.last.verdicts[i]))
		if err != nil {
			t.Fatal(err)
		}
		x, ok := p.Explanation(tt.pid)
		if !ok {
			t.Fatalf("no explanation of pid %d", tt.pid)
		}
		explained, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		for what, text := range map[string][]byte{"snapshot": wire, "plugin record": record, "explanation": explained} {
			if strings.Contains(string(text), secret) {
				t.Errorf("pid %d: the %s holds the secret: %s", tt.pid, what, text)
			}
		}
		if x.Verdict.Name != tt.name {
			t.Errorf("pid %d: explain says it is reported as %q, the snapshot has %q", tt.pid, x.Verdict.Name, tt.name)
		}
	}
}

// indexOfPID returns the index of pid in the last tick's scan, which
// the rules' verdicts share.
func indexOfPID(p *Pipeline, pid int) int {
	for i, sp := range p.last.res.Processes {
		if sp.PID == pid {
			return i
		}
	}
	return -1
}
