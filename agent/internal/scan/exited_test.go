package scan

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestLoadSkipsProcessThatExitedMidRead checks that load does not return
// a process half read: when a file it reads after stat is missing (cgroup,
// exe, ns/net), it reads stat again and skips the process if it exited
// meanwhile (its stat gone, a zombie's, or another start time's: the pid
// reused), and keeps it when the process is still the same (a fake tree
// may well have no exe link).
func TestLoadSkipsProcessThatExitedMidRead(t *testing.T) {
	alive := fakeproc.Proc{PID: 500, PPID: 1, Comm: "app", StartTicks: 1500, Argv: []string{"/usr/bin/app"},
		Exe: "/usr/bin/app", NetNS: fakeproc.HostNetNS, Cgroup: "0::/system.slice/app.service\n"}
	for _, tt := range []struct {
		name string
		// then changes the process after its stat was read; it returns
		// the process as it is now, nil when gone.
		then func(p fakeproc.Proc) *fakeproc.Proc
		kept bool
	}{
		{"nothing missing", func(p fakeproc.Proc) *fakeproc.Proc { return &p }, true},
		{"no exe link, still running", func(p fakeproc.Proc) *fakeproc.Proc { p.Exe = ""; return &p }, true},
		{"exited, now a zombie", func(p fakeproc.Proc) *fakeproc.Proc { p.Exe, p.State, p.Cgroup = "", 'Z', ""; return &p }, false},
		{"exited and reaped", func(fakeproc.Proc) *fakeproc.Proc { return nil }, false},
		{"pid reused, no exe yet", func(p fakeproc.Proc) *fakeproc.Proc { p.Exe, p.StartTicks = "", 9000; return &p }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tree := &fakeproc.Tree{BootTime: 1, Procs: []fakeproc.Proc{
				{PID: 1, Comm: "init", StartTicks: 20, Argv: []string{"/sbin/init"}, Exe: "/sbin/init", NetNS: fakeproc.HostNetNS},
				alive,
			}}
			dir := t.TempDir()
			if err := tree.Write(dir); err != nil {
				t.Fatal(err)
			}
			rootfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(rootfd)
			w := newWorker()
			w.reset(rootfd, 1, true, time.Unix(1, 0))
			b, err := os.ReadFile(filepath.Join(dir, "500", "stat"))
			if err != nil {
				t.Fatal(err)
			}
			st, err := parseStat(b)
			if err != nil {
				t.Fatal(err)
			}
			switch now := tt.then(alive); {
			case now == nil:
				if err := os.RemoveAll(filepath.Join(dir, "500")); err != nil {
					t.Fatal(err)
				}
			default:
				if err := tree.Rewrite(dir, *now); err != nil {
					t.Fatal(err)
				}
			}
			e := w.load(500, st, -1, nil)
			if (e != nil) != tt.kept {
				t.Fatalf("load = %v, want kept %v", e, tt.kept)
			}
			if e != nil && (e.proc.ProcessName != "app" || e.proc.StartTicks != 1500) {
				t.Errorf("kept as %+v", e.proc)
			}
		})
	}
}

// TestStartTimeOutlivesClockSteps checks that a process keeps the start
// time it was first given when the wall clock steps (the kernel's btime
// moves with it) and a full re-read finds it changed (an exec): with its
// pid, the start time names the process on the wire, and a new one would
// make a delta remove it and add another. A process started after the
// step gets its start time from the new boot time.
func TestStartTimeOutlivesClockSteps(t *testing.T) {
	tree := &fakeproc.Tree{BootTime: 1_700_000_000, Procs: []fakeproc.Proc{
		{PID: 1, Comm: "init", StartTicks: 20, Argv: []string{"/sbin/init"}, Exe: "/sbin/init", NetNS: fakeproc.HostNetNS},
		{PID: 500, PPID: 1, Comm: "app", StartTicks: 1500, Argv: []string{"/usr/bin/app"}, Exe: "/usr/bin/app", NetNS: fakeproc.HostNetNS},
	}}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	s := newScanner(t, Config{Root: dir, FullRescanEvery: 1})
	before := byPID(scan(t, s))[500].StartTime
	// The clock steps back an hour; the process execs; another starts.
	tree.BootTime -= 3600
	tree.Procs[1].Argv = []string{"/usr/bin/app", "--worker"}
	tree.Procs = append(tree.Procs, fakeproc.Proc{PID: 600, PPID: 1, Comm: "new", StartTicks: 1600, Argv: []string{"/usr/bin/new"}, NetNS: fakeproc.HostNetNS})
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	res := scan(t, s)
	procs := byPID(res)
	if got := procs[500]; got.Cmdline != "/usr/bin/app --worker" || !got.StartTime.Equal(before) {
		t.Errorf("after the step and an exec: cmdline %q start %v, want the new cmdline and start %v", got.Cmdline, got.StartTime, before)
	}
	if want := time.Unix(1_700_000_000-3600, 0).Add(16 * time.Second); !procs[600].StartTime.Equal(want) {
		t.Errorf("a process started after the step starts at %v, want %v (the new boot time)", procs[600].StartTime, want)
	}
}

// TestEarlyReadsAcrossScans checks what Early keeps of the processes it
// reads at their fork or exec, on a fake host: a process whose exec read
// finds it a zombie is not published with the image of its fork (its
// parent's program); one reaped before a scan listed the PIDs, whose exit
// event comes after that scan, is still published once, with its exit;
// and one that no scan lists and no exit event ends is let go after
// maxMissed scans.
func TestEarlyReadsAcrossScans(t *testing.T) {
	bash := fakeproc.Proc{PID: 700, PPID: 1, Comm: "bash", StartTicks: 1000, Argv: []string{"/bin/bash", "/srv/run.sh"}, Exe: "/bin/bash", NetNS: fakeproc.HostNetNS}
	child := func(pid int) fakeproc.Proc {
		c := bash // a fork: the parent's image
		c.PID, c.PPID, c.StartTicks = pid, 700, 2000
		return c
	}
	tree := &fakeproc.Tree{BootTime: 1, Procs: []fakeproc.Proc{
		{PID: 1, Comm: "init", StartTicks: 1, Argv: []string{"/sbin/init"}, Exe: "/sbin/init", NetNS: fakeproc.HostNetNS},
		bash, child(800), child(900), child(901),
	}}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	s := newScanner(t, Config{Root: dir, FullRescanEvery: 6})
	e := s.Early()
	reap := func(pid int) {
		if err := os.RemoveAll(filepath.Join(dir, strconv.Itoa(pid))); err != nil {
			t.Fatal(err)
		}
	}
	for _, pid := range []int{800, 900, 901} {
		e.Read(pid) // at the fork
	}
	// 800 execs /bin/true and exits: a zombie when its exec is read.
	zombie := child(800)
	zombie.Argv, zombie.Exe, zombie.State = nil, "", 'Z'
	if err := tree.Rewrite(dir, zombie); err != nil {
		t.Fatal(err)
	}
	e.Read(800)
	e.Exit(800, time.Unix(5, 0))
	reap(800)
	// 900 and 901 are reaped before the scan lists the PIDs; 900's exit
	// event comes after the scan, 901's never.
	reap(900)
	reap(901)
	res := scan(t, s)
	e.Exit(900, time.Unix(6, 0))
	if p := byPID(res)[800]; p != nil {
		t.Errorf("pid 800 published as %q %q, the image of its fork, after it exec'd", p.ProcessName, p.Cmdline)
	}
	res = scan(t, s)
	if p := byPID(res)[900]; p == nil || !p.Exited.Equal(time.Unix(6, 0)) || p.Cmdline != "/bin/bash /srv/run.sh" {
		t.Errorf("pid 900, read at its fork and reaped before the scan, then its exit: %+v, want it once with its exit", p)
	}
	for range maxMissed {
		scan(t, s)
	}
	e.Exit(901, time.Unix(7, 0))
	if p := byPID(scan(t, s))[901]; p != nil {
		t.Errorf("pid 901, missed by %d scans, still kept: %+v", maxMissed+2, p)
	}
}
