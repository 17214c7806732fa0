package scan

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/procid"
)

// fakeHost writes testdata/proc/basic.yaml under a temp dir, with the
// host's root holding fakeproc.HostPasswd and the redis container (pid
// 2001) its own, fakeproc.ContainerPasswd.
func fakeHost(t *testing.T) (*fakeproc.Tree, string) {
	t.Helper()
	tree, err := fakeproc.Load(filepath.Join("..", "..", "..", "testdata", "proc", "basic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tree.Roots = map[string]fakeproc.Root{
		fakeproc.HostRoot: {Passwd: fakeproc.HostPasswd},
		"redis":           {Passwd: fakeproc.ContainerPasswd},
	}
	for i := range tree.Procs {
		if tree.Procs[i].PID == 2001 {
			tree.Procs[i].Root = "redis"
		}
	}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	return tree, dir
}

// logBuffer is an hclog logger writing JSON lines into a buffer.
func logBuffer(t *testing.T) (hclog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	return hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true, Level: hclog.Debug}), &buf
}

func newScanner(t *testing.T, cfg Config) *Scanner {
	t.Helper()
	s, err := New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func scan(t *testing.T, s *Scanner) *Result {
	t.Helper()
	res, err := s.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func byPID(res *Result) map[int]*Process {
	m := make(map[int]*Process, len(res.Processes))
	for _, p := range res.Processes {
		m[p.PID] = p
	}
	return m
}

func TestScanFakeHost(t *testing.T) {
	_, dir := fakeHost(t)
	res := scan(t, newScanner(t, Config{Root: dir}))
	boot := time.Unix(1795645876, 0)
	if !res.BootTime.Equal(boot) || !res.Full {
		t.Errorf("BootTime %v Full %v, want %v and a full first scan", res.BootTime, res.Full, boot)
	}
	pids := make([]int, len(res.Processes))
	for i, p := range res.Processes {
		pids[i] = p.PID
	}
	if want := []int{1, 2, 15, 400, 812, 813, 900, 901, 950, 2001}; !slices.Equal(pids, want) {
		t.Fatalf("pids %v, want %v", pids, want)
	}
	if len(res.Added) != len(pids) || len(res.Removed) != 0 {
		t.Errorf("first scan added %d removed %d, want all added", len(res.Added), len(res.Removed))
	}
	procs := byPID(res)
	// The uid is the owner of /proc/PID: fakeproc gives it the process's
	// uid when the test runs as root; otherwise it is the test's own uid,
	// named as HostPasswd names it.
	host := parsePasswd([]byte(fakeproc.HostPasswd))
	owner := func(uid int, user string) (int, string) {
		if os.Geteuid() == 0 {
			return uid, user
		}
		return os.Geteuid(), host[os.Geteuid()]
	}
	cases := []struct {
		name string
		pid  int
		want Process
	}{
		{"init", 1, Process{PPID: 0, Comm: "systemd", Argv: []string{"/sbin/init", "splash"}, ProcessName: "init",
			Cmdline: "/sbin/init splash", Exe: "/usr/lib/systemd/systemd", UID: 0, User: "root", NetNS: fakeproc.HostNetNS}},
		{"kernel thread", 15, Process{PPID: 2, Comm: "kworker/0:1-events", State: 'I', UID: 0, User: "root"}},
		{"argv[0] with spaces and slashes", 400, Process{PPID: 1, Comm: "sshd",
			Argv:        []string{"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"},
			ProcessName: "sshd -D [listener] 0 of 10-100 startups", Cmdline: "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
			Exe: "/usr/sbin/sshd", UID: 0, User: "root", NetNS: fakeproc.HostNetNS}},
		{"host user", 813, Process{PPID: 812, Comm: "python3", Argv: []string{"python3", "/srv/app/billing.py", "--port", "8080"},
			ProcessName: "python3", Cmdline: "python3 /srv/app/billing.py --port 8080", Exe: "/usr/bin/python3.12",
			UID: 1000, User: "dev", NetNS: fakeproc.HostNetNS}},
		{"rewritten argv", 901, Process{PPID: 900, Comm: "nginx", Argv: []string{"nginx: worker process"},
			ProcessName: "nginx: worker process", Cmdline: "nginx: worker process", Exe: "/usr/sbin/nginx",
			UID: 33, User: "www-data", NetNS: fakeproc.HostNetNS}},
		{"odd comm", 950, Process{PPID: 1, Comm: "my (odd) ) prog", Argv: []string{"/opt/weird/my (odd) ) prog", "-x"},
			ProcessName: "my (odd) ) prog", Cmdline: "/opt/weird/my (odd) ) prog -x", Exe: "/opt/weird/my (odd) ) prog",
			UID: 0, User: "root", NetNS: fakeproc.HostNetNS}},
		{"container user of a uid the host names otherwise", 2001, Process{PPID: 1, Comm: "redis-server", Argv: []string{"redis-server *:6379"},
			ProcessName: "redis-server *:6379", Cmdline: "redis-server *:6379", Exe: "/usr/local/bin/redis-server",
			UID: 999, User: "redis", NetNS: 4026532200,
			ContainerID: "4f1d6a2f0e9c3b7d8a5e6f1c2b3a4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c",
			Cgroup:      "/system.slice/docker-4f1d6a2f0e9c3b7d8a5e6f1c2b3a4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c.scope"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := procs[tc.pid]
			if got == nil {
				t.Fatalf("pid %d missing", tc.pid)
			}
			want := tc.want
			want.Key = procid.Key{PID: tc.pid, StartTicks: got.StartTicks}
			want.StartTime, want.Rev = startTime(boot, got.StartTicks), 1
			if want.State == 0 {
				want.State = 'S'
			}
			want.UID, want.User = owner(want.UID, want.User)
			assertProcess(t, got, &want)
		})
	}
	if p := procs[813]; !p.StartTime.Equal(boot.Add(981 * time.Second)) {
		t.Errorf("start time of 813 = %v, want btime + 98100 ticks", p.StartTime)
	}
}

// userOf is the name of uid in this machine's /etc/passwd, "" if none.
func userOf(t *testing.T, uid int) string {
	t.Helper()
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	return parsePasswd(b)[uid]
}

func assertProcess(t *testing.T, got, want *Process) {
	t.Helper()
	g, w := *got, *want
	if !g.StartTime.Equal(w.StartTime) {
		t.Errorf("StartTime %v, want %v", g.StartTime, w.StartTime)
	}
	g.StartTime, w.StartTime = time.Time{}, time.Time{}
	if !slices.Equal(g.Argv, w.Argv) || (g.Argv == nil) != (w.Argv == nil) {
		t.Errorf("Argv %q, want %q", g.Argv, w.Argv)
	}
	g.Argv, w.Argv = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("process\n got %+v\nwant %+v", g, w)
	}
}

func TestSteadyScanSharesProcesses(t *testing.T) {
	_, dir := fakeHost(t)
	s := newScanner(t, Config{Root: dir, FullRescanEvery: -1})
	first := scan(t, s)
	second := scan(t, s)
	if second.Full || len(second.Added) != 0 || len(second.Removed) != 0 {
		t.Errorf("steady scan: full %v, added %v, removed %v", second.Full, second.Added, second.Removed)
	}
	if len(first.Processes) != len(second.Processes) {
		t.Fatalf("%d processes, then %d", len(first.Processes), len(second.Processes))
	}
	for i := range first.Processes {
		if first.Processes[i] != second.Processes[i] {
			t.Errorf("pid %d: a new *Process although nothing changed", first.Processes[i].PID)
		}
	}
}

func TestScanChanges(t *testing.T) {
	cases := []struct {
		name string
		// change alters the written tree between the first and second scan.
		change func(t *testing.T, tree *fakeproc.Tree, dir string)
		// check looks at the old and new process of pid 813 (nil when gone)
		// and the second result.
		check func(t *testing.T, old, cur *Process, res *Result)
	}{
		{"pid reuse is a new process",
			func(t *testing.T, tree *fakeproc.Tree, dir string) {
				rewrite(t, tree, dir, 813, func(p *fakeproc.Proc) {
					p.StartTicks += 500
					p.Argv = []string{"/usr/bin/sleep", "10"}
				})
			},
			func(t *testing.T, old, cur *Process, res *Result) {
				if cur == nil || cur.Key == old.Key || cur.ProcessName != "sleep" || cur.Rev != 2 {
					t.Fatalf("after reuse: %+v", cur)
				}
				if !slices.Contains(res.Added, cur.Key) || !slices.Contains(res.Removed, old.Key) {
					t.Errorf("added %v removed %v; want the new key added and the old removed", res.Added, res.Removed)
				}
			}},
		{"vanished pid",
			func(t *testing.T, tree *fakeproc.Tree, dir string) {
				if err := tree.Remove(dir, 813); err != nil {
					t.Fatal(err)
				}
			},
			func(t *testing.T, old, cur *Process, res *Result) {
				if cur != nil || !slices.Equal(res.Removed, []procid.Key{old.Key}) || len(res.Added) != 0 {
					t.Errorf("cur %v, added %v, removed %v", cur, res.Added, res.Removed)
				}
			}},
		{"argv rewrite waits for the full rescan",
			func(t *testing.T, tree *fakeproc.Tree, dir string) {
				rewrite(t, tree, dir, 813, func(p *fakeproc.Proc) { p.RawCmdline = "billing: idle" })
			},
			func(t *testing.T, old, cur *Process, res *Result) {
				if cur != old {
					t.Errorf("steady scan re-read cmdline: %+v", cur)
				}
			}},
		{"comm change is seen at once",
			func(t *testing.T, tree *fakeproc.Tree, dir string) {
				rewrite(t, tree, dir, 813, func(p *fakeproc.Proc) { p.Comm = "billing worker" })
			},
			func(t *testing.T, old, cur *Process, res *Result) {
				if cur.Comm != "billing worker" || cur.Rev != 2 || cur.Key != old.Key || cur.Cmdline != old.Cmdline {
					t.Errorf("after prctl rename: %+v", cur)
				}
			}},
		{"reparenting is seen at once",
			func(t *testing.T, tree *fakeproc.Tree, dir string) {
				rewrite(t, tree, dir, 813, func(p *fakeproc.Proc) { p.PPID = 1 })
			},
			func(t *testing.T, old, cur *Process, res *Result) {
				if cur.PPID != 1 || cur.Rev != 2 || len(res.Added)+len(res.Removed) != 0 {
					t.Errorf("after reparenting: %+v", cur)
				}
			}},
		{"state change keeps Rev",
			func(t *testing.T, tree *fakeproc.Tree, dir string) {
				rewrite(t, tree, dir, 813, func(p *fakeproc.Proc) { p.State = 'R' })
			},
			func(t *testing.T, old, cur *Process, res *Result) {
				if cur.State != 'R' || cur.Rev != old.Rev || old.State != 'S' {
					t.Errorf("after state change: %+v (old %+v)", cur, old)
				}
			}},
		{"new process appears",
			func(t *testing.T, tree *fakeproc.Tree, dir string) {
				err := tree.Rewrite(dir, fakeproc.Proc{PID: 3000, PPID: 813, Comm: "child", StartTicks: 99000,
					Argv: []string{"./child"}, NetNS: fakeproc.HostNetNS})
				if err != nil {
					t.Fatal(err)
				}
			},
			func(t *testing.T, old, cur *Process, res *Result) {
				if len(res.Added) != 1 || res.Added[0] != (procid.Key{PID: 3000, StartTicks: 99000}) || cur != old {
					t.Errorf("added %v", res.Added)
				}
				if p := res.Processes[len(res.Processes)-1]; p.PID != 3000 || p.ProcessName != "child" || p.Rev != 2 {
					t.Errorf("last process %+v", p)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tree, dir := fakeHost(t)
			s := newScanner(t, Config{Root: dir, FullRescanEvery: -1})
			old := byPID(scan(t, s))[813]
			tc.change(t, tree, dir)
			res := scan(t, s)
			tc.check(t, old, byPID(res)[813], res)
		})
	}
}

func rewrite(t *testing.T, tree *fakeproc.Tree, dir string, pid int, change func(*fakeproc.Proc)) {
	t.Helper()
	i := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == pid })
	p := tree.Procs[i]
	change(&p)
	if err := tree.Rewrite(dir, p); err != nil {
		t.Fatal(err)
	}
}

func TestFullRescanPicksUpArgvRewrite(t *testing.T) {
	tree, dir := fakeHost(t)
	s := newScanner(t, Config{Root: dir, FullRescanEvery: 2})
	first := byPID(scan(t, s))
	rewrite(t, tree, dir, 901, func(p *fakeproc.Proc) { p.RawCmdline = "nginx: worker process is shutting down" })
	second := scan(t, s)
	if second.Full || byPID(second)[901] != first[901] {
		t.Fatalf("scan 2 is not a steady scan: full %v", second.Full)
	}
	third := scan(t, s)
	p := byPID(third)[901]
	if !third.Full || p.Cmdline != "nginx: worker process is shutting down" || p.Rev != 3 || p.Key != first[901].Key {
		t.Errorf("full rescan: full %v, process %+v", third.Full, p)
	}
	if len(third.Added)+len(third.Removed) != 0 {
		t.Errorf("a rewrite is not a new process: added %v removed %v", third.Added, third.Removed)
	}
	for pid, old := range first {
		if pid != 901 && byPID(third)[pid] != old {
			t.Errorf("pid %d changed on a full rescan although its files did not", pid)
		}
	}
}

func TestMalformedStatWarnsOnce(t *testing.T) {
	_, dir := fakeHost(t)
	for _, pid := range []string{"812", "813"} {
		if err := os.WriteFile(filepath.Join(dir, pid, "stat"), []byte("garbage\n"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	logger, logs := logBuffer(t)
	s, err := New(Config{Root: dir}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 {
		res := scan(t, s)
		if p := byPID(res); p[812] != nil || p[813] != nil || p[1] == nil {
			t.Fatal("processes with malformed stat were not skipped alone")
		}
	}
	if n := strings.Count(logs.String(), "malformed stat files"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), `"processes":2`) {
		t.Errorf("warning does not count the processes:\n%s", logs)
	}
}

// TestNonUTF8Cmdline checks that a process whose cmdline is not valid
// UTF-8 gets no argv, as DeepFlow skips it (procfs's cmdline() is a
// read_to_string): it is then neither reported nor a parent.
func TestNonUTF8Cmdline(t *testing.T) {
	_, dir := fakeHost(t)
	if err := os.WriteFile(filepath.Join(dir, "813", "cmdline"), []byte("caf\xe9\x00--x\x00"), 0o444); err != nil {
		t.Fatal(err)
	}
	procs := byPID(scan(t, newScanner(t, Config{Root: dir})))
	if p := procs[813]; p == nil || p.Argv != nil || p.ProcessName != "" || p.Cmdline != "" {
		t.Errorf("process 813 with a Latin-1 cmdline = %+v, want it kept without argv", p)
	}
	if p := procs[812]; p == nil || p.Argv == nil {
		t.Errorf("its parent 812 lost its argv: %+v", p)
	}
}

// TestKernelThreadReadsStatOwnerRoot checks that a kernel thread (PF_KTHREAD
// in stat) costs only its stat, owner and root: with its other files gone
// it is still scanned whole, and nothing is reported unreadable. A user
// process whose cmdline is gone is taken for exited, as before.
func TestKernelThreadReadsStatOwnerRoot(t *testing.T) {
	_, dir := fakeHost(t)
	for _, pid := range []string{"15", "813"} {
		for _, name := range []string{"cmdline", "cgroup", "exe", "ns/net"} {
			if err := os.Remove(filepath.Join(dir, pid, name)); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	logger, logs := logBuffer(t)
	s, err := New(Config{Root: dir}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	procs := byPID(scan(t, s))
	k := procs[15]
	if k == nil || k.Comm != "kworker/0:1-events" || k.Argv != nil || k.User != userOfRoot(t) {
		t.Fatalf("kernel thread 15 = %+v, want it scanned from stat, owner and root", k)
	}
	if procs[813] != nil {
		t.Errorf("user process 813 without cmdline was kept: %+v", procs[813])
	}
	if strings.Contains(logs.String(), "unreadable") {
		t.Errorf("missing files of a kernel thread were reported:\n%s", logs)
	}
}

// userOfRoot is the name the fake host's passwd gives the owner of the
// test's files: root, or the user running the test.
func userOfRoot(t *testing.T) string {
	t.Helper()
	return parsePasswd([]byte(fakeproc.HostPasswd))[os.Geteuid()]
}

func TestScanCancelled(t *testing.T) {
	tree := fakeproc.Generate(300, 0, 3)
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	s := newScanner(t, Config{Root: dir})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Scan(ctx); err == nil {
		t.Fatal("cancelled scan returned no error")
	}
	res := scan(t, s)
	if len(res.Processes) != 300 || len(res.Added) != 300 {
		t.Errorf("after a cancelled scan: %d processes, %d added", len(res.Processes), len(res.Added))
	}
}

func TestWorkersAgree(t *testing.T) {
	tree := fakeproc.Generate(400, 400, 5)
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	one := newScanner(t, Config{Root: dir, Workers: 1})
	three := newScanner(t, Config{Root: dir, Workers: 3})
	scan(t, one)
	scan(t, three)
	// Remove and replace processes spread over the range, then compare.
	var change []fakeproc.Proc
	for _, i := range []int{5, 150, 151, 250, 399} {
		change = append(change, tree.Procs[i])
	}
	for i, p := range change {
		if i%2 == 0 {
			p.StartTicks++
			if err := tree.Rewrite(dir, p); err != nil {
				t.Fatal(err)
			}
		} else if err := tree.Remove(dir, p.PID); err != nil {
			t.Fatal(err)
		}
	}
	a, b := scan(t, one), scan(t, three)
	if len(a.Processes) != len(b.Processes) || len(a.Processes) != 398 {
		t.Fatalf("%d vs %d processes, want 398", len(a.Processes), len(b.Processes))
	}
	for i := range a.Processes {
		assertProcess(t, b.Processes[i], a.Processes[i])
	}
	if !slices.Equal(a.Added, b.Added) || !slices.Equal(a.Removed, b.Removed) || len(a.Added) != 3 || len(a.Removed) != 5 {
		t.Errorf("added %v / %v, removed %v / %v", a.Added, b.Added, a.Removed, b.Removed)
	}
}

// TestListedWithoutStat: a pid directory listed by getdents whose stat is
// gone by the time it is opened (the process exited) is skipped silently.
func TestListedWithoutStat(t *testing.T) {
	_, dir := fakeHost(t)
	if err := os.Remove(filepath.Join(dir, "813", "stat")); err != nil {
		t.Fatal(err)
	}
	logger, logs := logBuffer(t)
	s, err := New(Config{Root: dir}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	res := scan(t, s)
	if m := byPID(res); m[813] != nil || m[812] == nil || len(res.Processes) != 9 {
		t.Errorf("%d processes, 813 present: %v", len(res.Processes), m[813] != nil)
	}
	if logs.Len() != 0 {
		t.Errorf("a vanished process was logged:\n%s", logs)
	}
}

func TestNewNeedsProcRoot(t *testing.T) {
	if _, err := New(Config{Root: t.TempDir()}, nil); err == nil || !strings.Contains(err.Error(), "boot time") {
		t.Errorf("New on an empty directory = %v, want a boot time error", err)
	}
}

func TestReadEnviron(t *testing.T) {
	_, dir := fakeHost(t)
	env, err := ReadEnviron(dir, 812)
	if err != nil || !slices.Equal(env, []string{"HOME=/home/dev", "TERM=xterm"}) {
		t.Errorf("ReadEnviron = %q, %v", env, err)
	}
	if _, err := ReadEnviron(dir, 4242); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadEnviron of a missing pid = %v, want not-exist", err)
	}
}

// TestScanSharesTexts checks that processes with one cmdline share its
// text, across full scans too, and that a full scan lets go of the texts
// that only exited processes had.
func TestScanSharesTexts(t *testing.T) {
	tree, dir := fakeHost(t)
	s := newScanner(t, Config{Root: dir, FullRescanEvery: 1})
	addCopy := func(pid int) {
		t.Helper()
		i := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == 901 })
		p := tree.Procs[i]
		p.PID = pid
		tree.Procs = append(tree.Procs, p)
		if err := tree.Rewrite(dir, p); err != nil {
			t.Fatal(err)
		}
	}
	shared := func(res *Result, a, b int) bool {
		pa, pb := byPID(res)[a], byPID(res)[b]
		return pa != nil && pb != nil && unsafe.StringData(pa.Argv[0]) == unsafe.StringData(pb.Argv[0])
	}
	addCopy(950)
	if res := scan(t, s); !shared(res, 901, 950) {
		t.Error("two workers of one cmdline read in one scan do not share it")
	}
	rewrite(t, tree, dir, 950, func(p *fakeproc.Proc) { p.RawCmdline = "nginx: cache loader process" })
	scan(t, s) // full: 950's new cmdline replaces its old one
	addCopy(951)
	res := scan(t, s)
	if !res.Full || !shared(res, 901, 951) {
		t.Errorf("a process read after a full scan does not share the cmdline of one kept across it (full %v)", res.Full)
	}
	if _, ok := s.texts.m["nginx: cache loader process"]; !ok {
		t.Error("the text of a live process is not held")
	}
	rewrite(t, tree, dir, 950, func(p *fakeproc.Proc) { p.RawCmdline = "nginx: worker process" })
	scan(t, s)
	if _, ok := s.texts.m["nginx: cache loader process"]; ok {
		t.Error("a full scan holds the text that no process has any more")
	}
}
