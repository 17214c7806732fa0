package pipeline

import (
	"reflect"
	"slices"
	"testing"

	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/snapshot"
)

// TestProcessListReuse checks the processes a tick publishes against a
// new pipeline's first tick over the same tree, step by step: a tick
// that changes nothing publishes the last tick's very list; one where a
// process changes in the middle, the last one exits, or a process takes a
// pid between two others publishes a new list, sorted, and leaves the
// last list as it was.
func TestProcessListReuse(t *testing.T) {
	proc := func(pid int, comm string, ticks uint64) fakeproc.Proc {
		return fakeproc.Proc{PID: pid, PPID: 1, Comm: comm, StartTicks: ticks, Argv: []string{"/usr/bin/" + comm}, NetNS: fakeproc.HostNetNS}
	}
	tree := &fakeproc.Tree{BootTime: 1, Procs: []fakeproc.Proc{
		{PID: 1, PPID: 0, Comm: "systemd", StartTicks: 20, Argv: []string{"/sbin/init"}, NetNS: fakeproc.HostNetNS},
		proc(300, "a", 100), proc(400, "b", 200), proc(500, "c", 300), proc(600, "d", 400),
	}}
	root := t.TempDir()
	if err := tree.Write(root); err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, root, nil, false, "")
	var last *snapshot.Snapshot
	for _, step := range []struct {
		name   string
		change func() error
		same   bool // the last tick's list again
	}{
		{"first", func() error { return nil }, false},
		{"unchanged", func() error { return nil }, true},
		{"a process in the middle renamed", func() error { return tree.Rewrite(root, proc(400, "b2", 200)) }, false},
		{"unchanged again", func() error { return nil }, true},
		{"the last exited", func() error { return tree.Remove(root, 600) }, false},
		{"a process between two", func() error { return tree.Rewrite(root, proc(450, "e", 500)) }, false},
		{"the first's pid taken by another", func() error { return tree.Rewrite(root, proc(300, "f", 900)) }, false},
	} {
		if err := step.change(); err != nil {
			t.Fatal(err)
		}
		var kept []snapshot.Process
		if last != nil {
			kept = slices.Clone(last.Processes)
		}
		snap, _, err := p.Tick(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := newPipeline(t, root, nil, false, "").Tick(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(snap.Processes, want.Processes) {
			t.Fatalf("%s: published %+v, a new pipeline %+v", step.name, snap.Processes, want.Processes)
		}
		if last != nil {
			reused := &snap.Processes[0] == &last.Processes[0]
			if reused != step.same {
				t.Errorf("%s: the last list published again: %v, want %v", step.name, reused, step.same)
			}
			if !reflect.DeepEqual(last.Processes, kept) {
				t.Errorf("%s: the last tick's list changed under its holder", step.name)
			}
		}
		last = snap
	}
}
