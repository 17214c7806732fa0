package scan

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/childtest"
	"github.com/proctag/proctag/agent/internal/procid"
)

// readStartTicks parses the starttime of ROOT/PID/stat as the kernel shows
// it now.
func readStartTicks(t *testing.T, root string, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		t.Fatalf("reference process: %v", err)
	}
	st, err := parseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	return st.startTicks
}

// checkResult holds for every scan of a consistent cache: sorted unique
// pids, start times derived from the ticks.
func checkResult(t *testing.T, res *Result) {
	t.Helper()
	for i, p := range res.Processes {
		if i > 0 && res.Processes[i-1].PID >= p.PID {
			t.Fatalf("processes not sorted, or a pid twice, at %d (pid %d)", i, p.PID)
		}
		if !p.StartTime.Equal(startTime(res.BootTime, p.StartTicks)) {
			t.Fatalf("pid %d: start time %v, want %v", p.PID, p.StartTime, startTime(res.BootTime, p.StartTicks))
		}
	}
}

// TestScanChurnIdentity scans the real /proc repeatedly while two
// goroutines start and reap short-lived children as fast as they can
// (hundreds a second): /bin/true under a marked argv[0], and sh that execs
// another binary (true) in the same pid, so that cmdline and exe change
// under the scanner. No scan may fail; a long-lived reference child must
// always be there with the identity /proc gives it; and every stat fd the
// scanner keeps must be accounted for, none left behind by the processes
// that came and went.
func TestScanChurnIdentity(t *testing.T) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true binary")
	}
	// One child before the fd baseline, so that what os/exec opens once
	// per process lifetime (the runtime poller, the pidfd probe) is not
	// counted as a leak.
	if err := exec.Command(truePath).Run(); err != nil {
		t.Fatal(err)
	}
	ref := exec.Command("sleep", "1000")
	ref.Args[0] = "proctag-churn-reference"
	if err := ref.Start(); err != nil {
		t.Skipf("no sleep binary: %v", err)
	}
	t.Cleanup(func() { _ = ref.Process.Kill(); _ = ref.Wait() })
	refPID := ref.Process.Pid
	refTicks := readStartTicks(t, "/proc", refPID)
	// The reference child's pidfd (held by ref until Wait) is open before
	// the baseline, so the baseline counts it.
	base := countFDs(t)

	s, err := New(Config{Workers: 2, FullRescanEvery: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}

	var spawned atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	churn := func(cmd func() *exec.Cmd) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// A failed start (EAGAIN under load) is not what this test is
			// about; the count only moves on children that ran.
			if cmd().Run() == nil {
				spawned.Add(1)
			}
		}
	}
	wg.Add(2)
	go churn(func() *exec.Cmd {
		c := exec.Command(truePath)
		c.Args[0] = "proctag-churn-true"
		return c
	})
	go churn(func() *exec.Cmd { return exec.Command("sh", "-c", "exec "+truePath) })
	stopChurn := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopChurn)

	// Scan until the churn has run thousands of children, across at least
	// one full re-read, or fail after a deadline.
	const wantSpawned, wantScans = 2000, 12
	var scans, fullScans int
	sawChurn := false
	deadline := time.Now().Add(2 * time.Minute)
	for scans < wantScans || spawned.Load() < wantSpawned || !sawChurn {
		if time.Now().After(deadline) {
			t.Fatalf("after %d scans, %d children spawned (want %d), a churning child seen: %v", scans, spawned.Load(), wantSpawned, sawChurn)
		}
		res, err := s.Scan(t.Context())
		if err != nil {
			t.Fatalf("scan %d during churn: %v", scans+1, err)
		}
		scans++
		if res.Full {
			fullScans++
		}
		checkResult(t, res)
		refProc := byPID(res)[refPID]
		if refProc == nil {
			t.Fatalf("scan %d: the reference process %d is missing", scans, refPID)
		}
		if refProc.StartTicks != refTicks || refProc.PPID != os.Getpid() ||
			refProc.ProcessName != "proctag-churn-reference" || !strings.HasSuffix(refProc.Cmdline, " 1000") {
			t.Fatalf("scan %d: reference process %+v, want start %d, parent %d, name proctag-churn-reference", scans, refProc, refTicks, os.Getpid())
		}
		if slices.ContainsFunc(res.Added, func(k procid.Key) bool { return k.PID == refPID }) && scans > 1 {
			t.Fatalf("scan %d: the reference process was added again", scans)
		}
		for _, p := range res.Processes {
			if p.PPID == os.Getpid() && p.PID != refPID {
				sawChurn = true
			}
		}
	}
	if fullScans < 2 {
		t.Errorf("%d full scans in %d, want the first and at least one re-read", fullScans, scans)
	}
	stopChurn()

	// Quiet now: the scanner keeps one stat fd per process it caches (the
	// budget is large unless RLIMIT_NOFILE is small), and every other fd
	// this process opened for the churn (pidfds, /dev/null, exec pipes)
	// was closed by Run before it returned. So the fds over the baseline
	// are exactly the kept ones: a leak on a vanished or reused process
	// shows as a difference. A process exiting after a scan keeps its fd
	// open until the next scan, which still counts it, so the two agree
	// right after any scan; what may briefly hold an extra fd is this test
	// binary's own leftovers (an earlier test's child still being reaped),
	// so this waits for a scan after which the two agree, with a deadline,
	// and allows no difference.
	var kept, open int
	agreed := false
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
		res := scan(t, s)
		if n := s.c.fds.open.Load(); n > int64(len(res.Processes)) {
			t.Fatalf("%d stat fds kept for %d processes", n, len(res.Processes))
		}
		kept, open = int(s.c.fds.open.Load()), countFDs(t)-base
		if kept == open {
			agreed = true
			break
		}
	}
	if !agreed {
		t.Fatalf("after the churn: %d fds over the baseline, the scanner keeps %d", open, kept)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// With the kept fds closed, the count is back to the baseline exactly.
	if got := countFDs(t); got != base {
		t.Errorf("after Close: %d fds, want the baseline %d", got, base)
	}
}

// pidnsEnv tells a re-executed test binary to be the init of a new pid
// namespace for TestScanPIDReuse; its value is unused.
const pidnsEnv = "PROCTAG_SCAN_PIDNS_HELPER"

// pidns is the parent's end of the helper: pid 1 of a fresh pid namespace
// (and mount namespace, where it mounts that namespace's procfs on /proc),
// which starts processes at chosen pids on request.
type pidns struct {
	cmd  *exec.Cmd
	in   io.Writer
	out  *bufio.Scanner
	root string // the namespace's procfs, seen from here
}

// ask sends one request line and returns the answer's fields; a refusal
// fails the test.
func (h *pidns) ask(t *testing.T, req string) []string {
	t.Helper()
	f, refusal := h.try(t, req)
	if refusal != "" {
		t.Fatalf("helper %q: %s", req, refusal)
	}
	return f
}

// try sends one request line and returns the answer's fields, or the
// helper's refusal.
func (h *pidns) try(t *testing.T, req string) ([]string, string) {
	t.Helper()
	if _, err := fmt.Fprintln(h.in, req); err != nil {
		t.Fatalf("helper %q: %v", req, err)
	}
	for h.out.Scan() {
		line, ok := strings.CutPrefix(h.out.Text(), "PIDNS ")
		if !ok {
			continue // the test binary's own output
		}
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "ok" {
			return nil, line
		}
		return f[1:], ""
	}
	t.Fatalf("helper %q: no answer (%v)", req, h.out.Err())
	return nil, ""
}

// startPIDNS starts the helper, or skips when the kernel or the privileges
// do not allow a new pid namespace.
func startPIDNS(t *testing.T) *pidns {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("forcing pid reuse needs root: a new pid namespace and its ns_last_pid (CAP_SYS_ADMIN)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestHelperPIDNS$")
	cmd.Env = append(os.Environ(), pidnsEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS}
	out, in, err := childtest.Start(t, cmd)
	if err != nil {
		t.Skipf("no new pid namespace here (a container without CAP_SYS_ADMIN?): %v", err)
	}
	t.Cleanup(func() { _ = in.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	h := &pidns{cmd: cmd, in: in, out: bufio.NewScanner(out),
		root: fmt.Sprintf("/proc/%d/root/proc", cmd.Process.Pid)}
	if _, refusal := h.try(t, "ready"); refusal != "" {
		t.Skipf("the new pid namespace cannot mount its procfs or set ns_last_pid (a read-only /proc/sys?): %s", refusal)
	}
	return h
}

// TestScanPIDReuse forces the kernel to give a pid to a second process
// after the first one with that pid exited (ns_last_pid in a fresh pid
// namespace, whose procfs the scanner reads), and checks that the scanner
// drops the first identity and reports the second as new, with its own
// argv: with the stat fd kept from the first process and without kept fds.
func TestScanPIDReuse(t *testing.T) {
	h := startPIDNS(t)
	kept, err := New(Config{Root: h.root, FullRescanEvery: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kept.Close() })
	opened, err := New(Config{Root: h.root, FullRescanEvery: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = opened.Close() })
	opened.c.fds.limit = 0
	scanners := map[string]*Scanner{"kept fd": kept, "no kept fd": opened}

	const pid = 300
	f := h.ask(t, fmt.Sprintf("spawn %d proctag-reuse-first 0", pid))
	firstTicks, _ := strconv.ParseUint(f[0], 10, 64)
	first := procid.Key{PID: pid, StartTicks: firstTicks}
	for name, s := range scanners {
		res := scan(t, s)
		checkResult(t, res)
		p := byPID(res)[pid]
		if p == nil || p.Key != first || p.ProcessName != "proctag-reuse-first" {
			t.Fatalf("%s: pid %d before the reuse: %+v, want key %+v named proctag-reuse-first", name, pid, p, first)
		}
		if name == "kept fd" && kept.c.fds.open.Load() == 0 {
			t.Skip("RLIMIT_NOFILE too small to keep fds")
		}
	}

	h.ask(t, fmt.Sprintf("kill %d", pid))
	// The helper retries until the second process's start tick differs
	// from the first's: within one tick (10 ms) the kernel itself gives
	// the two the same identity.
	f = h.ask(t, fmt.Sprintf("spawn %d proctag-reuse-second %d", pid, firstTicks))
	secondTicks, _ := strconv.ParseUint(f[0], 10, 64)
	second := procid.Key{PID: pid, StartTicks: secondTicks}
	if secondTicks == firstTicks {
		t.Fatalf("helper gave the same start tick %d twice", firstTicks)
	}
	for name, s := range scanners {
		res := scan(t, s)
		checkResult(t, res)
		p := byPID(res)[pid]
		if p == nil || p.Key != second || p.ProcessName != "proctag-reuse-second" || p.Cmdline != "proctag-reuse-second 1000" {
			t.Errorf("%s: pid %d after the reuse: %+v, want key %+v named proctag-reuse-second", name, pid, p, second)
		}
		if !slices.Contains(res.Removed, first) || !slices.Contains(res.Added, second) {
			t.Errorf("%s: removed %v, added %v; want %+v removed and %+v added", name, res.Removed, res.Added, first, second)
		}
		// A steady scan after the reuse keeps the new identity.
		if p := byPID(scan(t, s))[pid]; p == nil || p.Key != second {
			t.Errorf("%s: next scan: %+v, want key %+v", name, p, second)
		}
	}
}

// TestHelperPIDNS is the helper of TestScanPIDReuse, pid 1 of its own pid
// and mount namespaces. It reads requests from stdin and answers each with
// one "PIDNS ok ..." or "PIDNS error ..." line:
//
//	ready                    mounts this namespace's procfs on /proc and
//	                         checks that ns_last_pid can be written
//	spawn PID NAME AVOID     starts sleep 1000 as NAME with pid PID and a
//	                         start tick other than AVOID; answers the tick
//	kill PID                 kills and reaps it
func TestHelperPIDNS(t *testing.T) {
	if os.Getenv(pidnsEnv) == "" {
		t.Skip("helper process only")
	}
	children := map[int]*exec.Cmd{}
	defer func() {
		for _, c := range children {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	answer := func(format string, args ...any) { fmt.Printf("PIDNS "+format+"\n", args...) }
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch {
		case len(f) == 1 && f[0] == "ready":
			// Private, so that the procfs mount stays in this namespace
			// even where / is shared (systemd).
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				answer("error make / private: %v", err)
				continue
			}
			if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
				answer("error mount proc: %v", err)
				continue
			}
			// pid 2 next, which nothing here uses: only the right to write.
			if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte("1"), 0); err != nil {
				answer("error ns_last_pid: %v", err)
				continue
			}
			answer("ok")
		case len(f) == 4 && f[0] == "spawn":
			pid, _ := strconv.Atoi(f[1])
			avoid, _ := strconv.ParseUint(f[3], 10, 64)
			c, ticks, err := spawnAt(pid, f[2], avoid)
			if err != nil {
				answer("error %v", err)
				continue
			}
			children[pid] = c
			answer("ok %d", ticks)
		case len(f) == 2 && f[0] == "kill":
			pid, _ := strconv.Atoi(f[1])
			c := children[pid]
			if c == nil {
				answer("error no child %d", pid)
				continue
			}
			_ = c.Process.Kill()
			_ = c.Wait()
			delete(children, pid)
			answer("ok")
		default:
			answer("error bad request %q", in.Text())
		}
	}
}

// spawnAt starts sleep 1000 as name with the given pid (ns_last_pid set to
// pid-1 just before the fork) and a start tick other than avoid. It
// retries when a thread of this process took the pid first, or the child
// started within the avoided tick, until a deadline.
func spawnAt(pid int, name string, avoid uint64) (*exec.Cmd, uint64, error) {
	var last error
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0); err != nil {
			return nil, 0, fmt.Errorf("ns_last_pid: %w", err)
		}
		c := exec.Command("sleep", "1000")
		c.Args[0] = name
		if err := c.Start(); err != nil {
			return nil, 0, err
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Process.Pid))
		var st statFields
		if err == nil {
			st, err = parseStat(b)
		}
		if err == nil && c.Process.Pid == pid && st.startTicks != avoid {
			return c, st.startTicks, nil
		}
		last = fmt.Errorf("got pid %d, start tick %d (err %v)", c.Process.Pid, st.startTicks, err)
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	return nil, 0, fmt.Errorf("no process at pid %d: %v", pid, last)
}
