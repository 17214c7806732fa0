package pipeline

import (
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/tags"
)

// TestKeptTagsStayWithTheirProcess checks the tags kept while the tag
// command fails: they stay with the process the last good run tagged,
// and a new process that got one of its pids gets none of them (pid reuse
// must never merge two processes).
func TestKeptTagsStayWithTheirProcess(t *testing.T) {
	tree := &fakeproc.Tree{BootTime: 1, Procs: []fakeproc.Proc{
		{PID: 1, PPID: 0, Comm: "systemd", StartTicks: 20, Argv: []string{"/sbin/init"}, NetNS: fakeproc.HostNetNS},
		{PID: 500, PPID: 1, Comm: "app", StartTicks: 1500, Argv: []string{"/usr/bin/app"}, NetNS: fakeproc.HostNetNS},
		{PID: 501, PPID: 1, Comm: "db", StartTicks: 1600, Argv: []string{"/usr/bin/db"}, NetNS: fakeproc.HostNetNS},
	}}
	root := t.TempDir()
	if err := tree.Write(root); err != nil {
		t.Fatal(err)
	}
	script := tagScript(t, "- pid: 500\n  tags: [{key: team, value: billing}]\n- pid: 501\n  tags: [{key: team, value: data}]\n")
	p := newPipeline(t, root, nil, false, "")
	user := "nobody"
	if os.Geteuid() != 0 {
		user = "" // not root: the runner runs as the current user
	}
	r, err := tags.New(tags.Config{Command: script, User: user, Timeout: 10 * time.Second}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	p.cfg.Tags = r
	if _, _, err := p.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	// From now on the command fails, and pid 500 is another process.
	if err := os.WriteFile(script[0], []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tree.Rewrite(root, fakeproc.Proc{PID: 500, PPID: 1, Comm: "other", StartTicks: 9000, Argv: []string{"/usr/bin/other"}, NetNS: fakeproc.HostNetNS}); err != nil {
		t.Fatal(err)
	}
	snap, st, err := p.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := st.Step(StepTags); !ok || s.OK {
		t.Fatalf("tags step %+v, want it to have run and failed", s)
	}
	procs := byPID(snap)
	if got := procs[500]; got.ProcessName != "other" || len(got.Tags) != 0 {
		t.Errorf("pid 500, now %q, has tags %v of the process that had the pid before", got.ProcessName, got.Tags)
	}
	if got := procs[501]; got.Tags["team"] != "data" {
		t.Errorf("pid 501, the same process, lost its kept tags: %v", got.Tags)
	}
}

// TestMinLifetimeAcrossClockStep checks that min-lifetime measures a
// process's age by the boot time of the scan, which moves with the wall
// clock, so that a step of the clock does not make a process that has
// lived for a minute young again (unpublished until the clock catches
// up). Here the clock was an hour ahead at the first scan and is then set
// right.
func TestMinLifetimeAcrossClockStep(t *testing.T) {
	now := time.Now().Unix()
	tree := &fakeproc.Tree{BootTime: now + 3600 - 100, Procs: []fakeproc.Proc{
		{PID: 1, PPID: 0, Comm: "systemd", StartTicks: 20, Argv: []string{"/sbin/init"}, NetNS: fakeproc.HostNetNS},
		{PID: 500, PPID: 1, Comm: "app", StartTicks: 40 * 100, Argv: []string{"/usr/bin/app"}, NetNS: fakeproc.HostNetNS},
	}}
	root := t.TempDir()
	if err := tree.Write(root); err != nil {
		t.Fatal(err)
	}
	set, errs := rules.Compile(nil, func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	p, err := New(Config{Root: root, Rules: set, MinLifetime: 3 * time.Second, FullRescanEvery: 1}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, _, err := p.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	tree.BootTime -= 3600 // the clock set right: the process has lived for a minute
	if err := tree.Write(root); err != nil {
		t.Fatal(err)
	}
	snap, _, err := p.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := byPID(snap)[500]; !ok {
		t.Error("a process a minute old is not published after the clock was set back: taken as young")
	}
}
