package scan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/procid"
)

// waitFor scans until cond holds for a result, or fails after a deadline.
func waitFor(t *testing.T, s *Scanner, what string, cond func(*Result) bool) *Result {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res := scan(t, s); cond(res) {
			return res
		}
	}
	t.Fatalf("timed out waiting for %s", what)
	return nil
}

func selfNetNS(t *testing.T) uint64 {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return parseNetNSLink([]byte(l))
}

// TestScanRealChildren runs sh, which runs sleep through a symlink with a
// distinctive name, and looks for both on this machine's /proc. Run as
// root, sh runs as nobody (65534), so that uid and user are another
// user's; otherwise they are the test's own.
func TestScanRealChildren(t *testing.T) {
	sleepPath, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	sleepExe, err := filepath.EvalSymlinks(sleepPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sleeper := filepath.Join(dir, "proctag-test-sleeper")
	if err := os.Symlink(sleepExe, sleeper); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-c", `"$0" 1000 17s & wait`, sleeper)
	uid := os.Getuid()
	if uid == 0 {
		uid = 65534
		sh.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		// nobody must reach the sleeper symlink.
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := time.Now()
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })

	s := newScanner(t, Config{})
	var parent, child *Process
	res := waitFor(t, s, "the sleeper child of sh", func(r *Result) bool {
		m := byPID(r)
		parent = m[sh.Process.Pid]
		child = nil
		for _, p := range r.Processes {
			if p.PPID == sh.Process.Pid && p.ProcessName == "proctag-test-sleeper" {
				child = p
			}
		}
		return parent != nil && child != nil
	})
	after := time.Now()
	if self := byPID(res)[os.Getpid()]; self == nil || self.Exe == "" {
		t.Errorf("own process: %+v", self)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"parent name", parent.ProcessName, "sh"},
		{"parent ppid", parent.PPID, os.Getpid()},
		{"parent argv", strings.Join(parent.Argv, "|"), `sh|-c|"$0" 1000 17s & wait|` + sleeper},
		{"child argv", strings.Join(child.Argv, "|"), sleeper + "|1000|17s"},
		{"child cmdline", child.Cmdline, sleeper + " 1000 17s"},
		{"child comm", child.Comm, "proctag-test-sl"},
		{"child exe", child.Exe, sleepExe},
		{"parent uid", parent.UID, uid},
		{"child uid", child.UID, uid},
		{"child user", child.User, userOf(t, uid)},
		{"child netns", child.NetNS, selfNetNS(t)},
		{"child key", child.Key, procid.Key{PID: child.PID, StartTicks: child.StartTicks}},
		{"child started during the test", !child.StartTime.Before(before.Add(-time.Second)) && !child.StartTime.After(after.Add(time.Second)), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// The scanner takes the uid from an fstat of a stat fd it just opened;
	// without fds to keep, from the PID directory. Both are the owner the
	// kernel gives every inode of /proc/PID.
	for _, path := range []string{"", "stat"} {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join("/proc", strconv.Itoa(child.PID), path), &st); err != nil || int(st.Uid) != uid {
			t.Errorf("/proc/%d/%s owned by %d (err %v), want %d", child.PID, path, st.Uid, err, uid)
		}
	}
	noFDs := newScanner(t, Config{})
	noFDs.c.fds.limit = 0
	if p := byPID(scan(t, noFDs))[child.PID]; p == nil || p.UID != uid || p.User != child.User {
		t.Errorf("scanned without kept fds: %+v, want uid %d user %q", p, uid, child.User)
	}

	if err := syscall.Kill(child.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = sh.Wait()
	waitFor(t, s, "both processes to be removed", func(r *Result) bool {
		m := byPID(r)
		return m[parent.PID] == nil && m[child.PID] == nil &&
			slices.Contains(r.Removed, parent.Key) && slices.Contains(r.Removed, child.Key)
	})
}

// TestScanRealChurn scans while processes start and exit as fast as they
// can: a vanishing process must never fail a scan or count as unreadable.
func TestScanRealChurn(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = exec.Command("true").Run()
		}
	}()
	logger, logs := logBuffer(t)
	s, err := New(Config{Workers: 2}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 30 {
		res := scan(t, s)
		for i, p := range res.Processes {
			if i > 0 && res.Processes[i-1].PID >= p.PID {
				t.Fatalf("processes not sorted by pid at %d", i)
			}
		}
	}
	close(stop)
	<-done
	if strings.Contains(logs.String(), "malformed") || strings.Contains(logs.String(), `"stat":`) {
		t.Errorf("churn produced warnings:\n%s", logs)
	}
}

// helperEnv names the fake tree a re-executed test binary scans as nobody.
const helperEnv = "PROCTAG_SCAN_AS_NOBODY"

// TestDegradeAsNobody re-runs this test binary as uid 65534 on a fake tree
// with unreadable files and on the real /proc, where another user's exe and
// ns/net are unreadable: each scanner must warn once, naming what is
// missing and for how many processes, and still return the processes.
func TestDegradeAsNobody(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a helper as nobody")
	}
	shared := func() string {
		d, err := os.MkdirTemp("", "proctag-scan-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(d) })
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	bin := filepath.Join(shared(), "scan.test")
	copyFile(t, os.Args[0], bin)
	root := shared()
	tree := &fakeproc.Tree{BootTime: 1795645876, Procs: []fakeproc.Proc{
		{PID: 10, Comm: "a", StartTicks: 5, Argv: []string{"a"}, UID: 5, Deny: []string{"status", "cgroup"}},
		{PID: 11, Comm: "b", StartTicks: 6, Argv: []string{"b"}, UID: 33, Deny: []string{"status", "cgroup", "cmdline"}},
		{PID: 12, Comm: "c", StartTicks: 7, Argv: []string{"c"}},
		{PID: 13, Comm: "d", StartTicks: 8, Argv: []string{"d"}, Deny: []string{"stat"}},
	}}
	if err := tree.Write(root); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperScanAsNobody$")
	cmd.Env = append(os.Environ(), helperEnv+"="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	warnings := map[string][]map[string]any{}
	procs := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if pid, rest, ok := strings.Cut(strings.TrimPrefix(line, "PROC "), " "); ok && strings.HasPrefix(line, "PROC ") {
			procs[pid] = rest
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["@level"] == "warn" {
			mod, _ := m["@module"].(string)
			warnings[mod] = append(warnings[mod], m)
		}
	}
	fake := warnings["fake.scan"]
	if len(fake) != 1 {
		t.Fatalf("fake tree: %d warnings, want 1:\n%s", len(fake), out)
	}
	// status is no longer read: the uid is the owner of the PID directory,
	// which anyone may stat.
	for key, want := range map[string]any{"stat": 1.0, "status": nil, "cgroup": 2.0, "cmdline": 1.0, "uid": nil, "root": nil} {
		if fake[0][key] != want {
			t.Errorf("fake tree warning %s = %v, want %v", key, fake[0][key], want)
		}
	}
	wantProcs := map[string]string{"10": "uid=5 user= name=a", "11": "uid=33 user=www-data name=", "12": "uid=0 user=root name=c"}
	if !maps.Equal(procs, wantProcs) {
		t.Errorf("degraded processes: %v, want %v", procs, wantProcs)
	}
	if _, ok := procs["13"]; ok {
		t.Error("a process with unreadable stat was returned")
	}
	// Another user's exe and root need ptrace access: pid 1's at least.
	real := warnings["real.scan"]
	if n := len(real); n != 1 || real[0]["exe"] == nil || real[0]["exe"].(float64) < 1 ||
		real[0]["root"] == nil || real[0]["root"].(float64) < 1 {
		t.Errorf("real /proc as nobody: warnings %v, want one naming exe and root", real)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestHelperScanAsNobody is the child of TestDegradeAsNobody.
func TestHelperScanAsNobody(t *testing.T) {
	root := os.Getenv(helperEnv)
	if root == "" {
		t.Skip("helper process only")
	}
	for _, c := range []struct{ name, root string }{{"fake", root}, {"real", "/proc"}} {
		logger := hclog.New(&hclog.LoggerOptions{Name: c.name, Output: os.Stdout, JSONFormat: true})
		s, err := New(Config{Root: c.root, FullRescanEvery: 2}, logger)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for range 3 {
			res := scan(t, s)
			if c.name == "fake" {
				for _, p := range res.Processes {
					fmt.Printf("PROC %d uid=%d user=%s name=%s\n", p.PID, p.UID, p.User, p.ProcessName)
				}
			}
			if len(res.Processes) == 0 || !slices.IsSortedFunc(res.Processes, func(a, b *Process) int { return a.PID - b.PID }) {
				t.Fatalf("%s: %d processes", c.name, len(res.Processes))
			}
		}
	}
}

// TestKeptFDSeesRename renames this test process (writing /proc/self/comm,
// as prctl(PR_SET_NAME) does) between two steady scans: the stat fd kept
// open on the real procfs must show the new comm.
func TestKeptFDSeesRename(t *testing.T) {
	orig, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile("/proc/self/comm", orig, 0) })
	s := newScanner(t, Config{FullRescanEvery: -1})
	if s.c.fds.limit == 0 {
		t.Skip("RLIMIT_NOFILE too small to keep fds")
	}
	before := byPID(scan(t, s))[os.Getpid()]
	if err := os.WriteFile("/proc/self/comm", []byte("proctag-renamed"), 0); err != nil {
		t.Fatal(err)
	}
	after := byPID(scan(t, s))[os.Getpid()]
	if after.Comm != "proctag-renamed" || after.Key != before.Key || after.Rev != 2 || after.Cmdline != before.Cmdline {
		t.Errorf("after rename: %+v (before %+v)", after, before)
	}
}
