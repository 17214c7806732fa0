package scan

import (
	"testing"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestScanHiddenNetNS scans a fake tree where pid 1's ns/net is hidden,
// as in a sandbox where the agent may not follow it: its NetNS is 0 (for
// the sockets step to place by its net/tcp), the others' are read.
func TestScanHiddenNetNS(t *testing.T) {
	tree := &fakeproc.Tree{BootTime: 1795645876, NetNS: map[uint64]fakeproc.NetTables{fakeproc.HostNetNS: {}, 4026532300: {}},
		Procs: []fakeproc.Proc{
			{PID: 1, Comm: "init", StartTicks: 1, Argv: []string{"/init"}, NetNS: fakeproc.HostNetNS, HideNetNS: true},
			{PID: 20, PPID: 1, Comm: "sh", StartTicks: 20, Argv: []string{"sh"}, NetNS: fakeproc.HostNetNS},
			{PID: 30, PPID: 1, Comm: "app", StartTicks: 30, Argv: []string{"app"}, NetNS: 4026532300, HideNetNS: true},
		}}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	procs := byPID(scan(t, newScanner(t, Config{Root: dir})))
	for pid, want := range map[int]uint64{1: 0, 20: fakeproc.HostNetNS, 30: 0} {
		if p := procs[pid]; p == nil || p.NetNS != want {
			t.Errorf("pid %d: %+v, want NetNS %d", pid, p, want)
		}
	}
}
