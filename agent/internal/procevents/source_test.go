package procevents

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// roleEnv makes the test binary play a child of the live tests instead of
// testing (see TestMain).
const roleEnv = "PROCTAG_PROCEVENTS_ROLE"

// commName is what the "comm" child renames itself to.
const commName = "ptag-comm"

// commExit is the exit code of the "comm" child.
const commExit = 7

func init() {
	// prctl(PR_SET_NAME) renames the calling thread; the "comm" child must
	// call it on the main thread, whose comm is the process's.
	if os.Getenv(roleEnv) == "comm" {
		runtime.LockOSThread()
	}
}

// TestMain doubles as the children of the live tests: with roleEnv set,
// the test binary plays that role and exits.
func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "forker":
		// Fork a grandchild that execs /bin/true and report its pid.
		cmd := exec.Command("/bin/true")
		if err := cmd.Run(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("grandchild", cmd.Process.Pid)
		os.Exit(0)
	case "comm":
		name, _ := unix.BytePtrFromString(commName)
		if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		os.Exit(commExit)
	case "open":
		s, err := Open(context.Background(), Config{})
		if err != nil {
			fmt.Printf("error permission=%v unavailable=%v: %v\n", errors.Is(err, os.ErrPermission), errors.Is(err, ErrUnavailable), err)
			os.Exit(0)
		}
		s.Close()
		fmt.Println("ok")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// needRoot skips a live test when not root: the process connector may
// need CAP_NET_ADMIN (see TestOpenUnprivileged), and the overflow and unprivileged tests
// need root to shrink the buffer and change user; CI runs them as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live process connector tests run as root (CAP_NET_ADMIN on most kernels, setuid for the unprivileged child)")
	}
}

// openSource opens a source with a short window and closes it at the end
// of the test.
func openSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	needRoot(t)
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// collector gathers the batches of a source so that a test can wait for
// events whose pids it learns only later.
type collector struct {
	s      *Source
	events []Event
	lost   int
}

// waitFor reads batches until cond holds for the events so far, failing
// the test after timeout (a deadline for a hung kernel, not a measurement).
func (c *collector) waitFor(t *testing.T, timeout time.Duration, what string, cond func(events []Event) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for !cond(c.events) {
		select {
		case b, ok := <-c.s.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %s: %v", what, c.s.Err())
			}
			c.events = append(c.events, b.Events...)
			if b.Lost {
				c.lost++
			}
		case <-deadline:
			t.Fatalf("no %s within %v; stats %+v", what, timeout, c.s.Stats())
		}
	}
}

// find returns the first event of kind about pid, or nil.
func find(events []Event, kind Kind, pid int32) *Event {
	for i := range events {
		if events[i].Kind == kind && events[i].PID == pid {
			return &events[i]
		}
	}
	return nil
}

// has returns a condition for waitFor: an event of kind about *pid, read
// when the condition runs.
func has(kind Kind, pid *int32) func([]Event) bool {
	return func(events []Event) bool { return find(events, kind, *pid) != nil }
}

// exitParent reports whether exit event e names parent as the process's
// parent, or none: the kernel sends the exit event after it notified the
// parent, and names the parent only while the process is not reaped yet
// (pid_alive in proc_exit_connector), so a parent that waits on another
// CPU can make it 0.
func exitParent(e *Event, parent int32) bool {
	return e.ParentTGID == parent || (e.ParentTGID == 0 && e.ParentPID == 0)
}

// child returns a command that runs the test binary in role.
func child(role string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	return cmd
}

func TestSourceForkExecExit(t *testing.T) {
	s := openSource(t, Config{Window: 20 * time.Millisecond})
	cmd := child("forker")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("forker: %v: %s", err, out)
	}
	var gc int32
	if _, err := fmt.Sscanf(string(out), "grandchild %d", &gc); err != nil {
		t.Fatalf("forker said %q: %v", out, err)
	}
	pid := int32(cmd.Process.Pid)
	c := &collector{s: s}
	c.waitFor(t, 10*time.Second, "exec and exit of the child and the grandchild", func(ev []Event) bool {
		return has(KindExec, &pid)(ev) && has(KindExit, &pid)(ev) && has(KindFork, &gc)(ev) &&
			has(KindExec, &gc)(ev) && has(KindExit, &gc)(ev)
	})
	fork := find(c.events, KindFork, gc)
	if fork.TGID != gc || fork.ParentTGID != pid || !fork.Leader() {
		t.Errorf("fork of the grandchild: %s; want tgid %d, parent tgid %d", fork.String(), gc, pid)
	}
	if e := find(c.events, KindExec, gc); e.TGID != gc {
		t.Errorf("exec of the grandchild: %s", e.String())
	}
	if e := find(c.events, KindExit, gc); e.ExitCode != 0 || !exitParent(e, pid) || e.ExitSignal != uint32(unix.SIGCHLD) {
		t.Errorf("exit of the grandchild: %s; want code 0, parent %d, SIGCHLD", e.String(), pid)
	}
	if e := find(c.events, KindExit, pid); !exitParent(e, int32(os.Getpid())) {
		t.Errorf("exit of the child: %s; want parent %d", e.String(), os.Getpid())
	}
	// The Go runtime of the child started threads; none of them is
	// delivered, and the child's forks of them are counted.
	for _, e := range c.events {
		if e.Kind != KindLost && e.PID != e.TGID {
			t.Errorf("thread event delivered: %s", e.String())
		}
	}
	if s.Stats().Threads == 0 {
		t.Errorf("no thread events counted; stats %+v", s.Stats())
	}
}

func TestSourceCommExit(t *testing.T) {
	s := openSource(t, Config{Window: 20 * time.Millisecond})
	cmd := child("comm")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != commExit {
		t.Fatalf("comm child: %v (want exit code %d): %s", err, commExit, out)
	}
	pid := int32(cmd.Process.Pid)
	c := &collector{s: s}
	c.waitFor(t, 10*time.Second, "comm and exit of the child", func(ev []Event) bool {
		return has(KindComm, &pid)(ev) && has(KindExit, &pid)(ev)
	})
	if e := find(c.events, KindComm, pid); e.CommName() != commName || e.TGID != pid {
		t.Errorf("comm event %s, want comm %q", e.String(), commName)
	}
	e := find(c.events, KindExit, pid)
	if ws := syscall.WaitStatus(e.ExitCode); !ws.Exited() || ws.ExitStatus() != commExit {
		t.Errorf("exit event %s, want exit status %d", e.String(), commExit)
	}
}

// TestSourceThreads keeps thread events (Config.Threads) and checks that
// the forks of the child's runtime threads arrive as threads of the child.
func TestSourceThreads(t *testing.T) {
	s := openSource(t, Config{Window: 20 * time.Millisecond, Threads: true})
	cmd := child("comm")
	cmd.Run()
	pid := int32(cmd.Process.Pid)
	c := &collector{s: s}
	c.waitFor(t, 10*time.Second, "a thread of the child", func(ev []Event) bool {
		for _, e := range ev {
			if e.Kind == KindFork && e.TGID == pid && e.PID != pid {
				return true
			}
		}
		return false
	})
	for _, e := range c.events {
		if e.Kind == KindFork && e.TGID == pid && e.PID != pid && e.Leader() {
			t.Errorf("thread fork counted as a process: %s", e.String())
		}
	}
}

// TestSourceOverflow fills a tiny receive buffer with the events of 2,000
// processes before reading: the source must report the loss, and events
// must flow again after it.
func TestSourceOverflow(t *testing.T) {
	needRoot(t)
	s, err := open(t.Context(), Config{Window: 20 * time.Millisecond, ReadBufferBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	spawn(t, 2000)
	s.start(t.Context())
	c := &collector{s: s}
	c.waitFor(t, 30*time.Second, "a lost event", func([]Event) bool { return c.lost > 0 })
	if st := s.Stats(); st.Overruns == 0 || st.Lost == 0 {
		t.Errorf("stats after an overflow: %+v", st)
	}
	// The source must deliver again after the overflow. Its receive buffer
	// is tiny and other processes on the machine exec too (go test runs
	// packages in parallel), so any one exec may be lost again: /bin/true
	// runs every 100 ms until the exec of one of them is read.
	var mu sync.Mutex
	pids := make(map[int32]bool)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		every := time.NewTicker(100 * time.Millisecond)
		defer every.Stop()
		for {
			cmd := exec.Command("/bin/true")
			if cmd.Run() == nil {
				mu.Lock()
				pids[int32(cmd.Process.Pid)] = true
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-every.C:
			}
		}
	}()
	defer func() { close(stop); <-done }()
	from := len(c.events)
	c.waitFor(t, 10*time.Second, "an exec after the overflow", func(events []Event) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events[from:] {
			if e.Kind == KindExec && pids[e.PID] {
				return true
			}
		}
		return false
	})
}

// spawn runs /bin/true n times, four at a time.
func spawn(t *testing.T, n int) {
	t.Helper()
	var wg sync.WaitGroup
	work := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for range work {
				if err := exec.Command("/bin/true").Run(); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// TestOpenUnprivileged opens a source as nobody: it works, or it fails
// with an error that says it lacks a permission (so that the agent falls
// back to polling and says why). Linux 6.6 let any user listen to process
// events; kernels before it, and some later builds (6.18.44 here), refuse
// it without CAP_NET_ADMIN, so a kernel from 6.6 on may do either.
func TestOpenUnprivileged(t *testing.T) {
	needRoot(t)
	// A copy of the test binary that nobody may run.
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "procevents.test")
	copyFile(t, os.Args[0], bin)
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"=open")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("unprivileged child: %v: %s", err, out)
	}
	got := strings.TrimSpace(string(out))
	denied := strings.HasPrefix(got, "error permission=true") && strings.Contains(got, "CAP_NET_ADMIN")
	switch {
	case !kernelAtLeast(t, 6, 6) && !denied:
		t.Errorf("as nobody before Linux 6.6: %s, want a permission error naming CAP_NET_ADMIN", got)
	case got != "ok" && !denied:
		t.Errorf("as nobody: %s, want ok or a permission error naming CAP_NET_ADMIN", got)
	}
	t.Logf("as nobody: %s", got)
}

func kernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		t.Fatalf("kernel release %q", rel)
	}
	maj, _ := strconv.Atoi(parts[0])
	min, _ := strconv.Atoi(strings.TrimLeftFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return maj > major || maj == major && min >= minor
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, bufio.NewReader(src)); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenInPidNamespace opens a source from a new pid namespace, as in a
// container: the kernel ignores the subscription and Open says so.
func TestOpenInPidNamespace(t *testing.T) {
	needRoot(t)
	cmd := child("open")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child in a new pid namespace: %v: %s", err, out)
	}
	got := strings.TrimSpace(string(out))
	if !strings.HasPrefix(got, "error permission=false unavailable=true") {
		t.Errorf("in a new pid namespace: %s, want ErrUnavailable", got)
	}
	t.Logf("in a new pid namespace: %s", got)
}

// TestSourceContextEnds checks that the end of Open's context closes the
// source: Events is closed and Err is nil.
func TestSourceContextEnds(t *testing.T) {
	needRoot(t)
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Open(ctx, Config{Window: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	endsClean(t, s)
	s.Close() // a second close is harmless
}

// endsClean waits until s's Events is closed after the end of its context,
// and fails t unless Err is nil then.
func endsClean(t *testing.T, s *Source) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-s.Events():
		case <-deadline:
			t.Fatal("events not closed after the context ended")
		}
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err() = %v after the context ended, want nil", err)
	}
}

// TestSourceCloseWithoutReader checks that Close returns when nobody reads
// Events.
func TestSourceCloseWithoutReader(t *testing.T) {
	needRoot(t)
	s, err := Open(t.Context(), Config{Window: time.Millisecond, Queue: 1, MaxBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	spawn(t, 20)
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}

// TestOpenContextAlreadyEnded opens a source on a context that has ended:
// Open fails, or the source closes at once (its Events closed, Err nil),
// with no race between Open and the Close the context's end runs (-race).
func TestOpenContextAlreadyEnded(t *testing.T) {
	needRoot(t)
	for range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		s, err := Open(ctx, Config{Window: time.Millisecond})
		if err != nil {
			continue
		}
		endsClean(t, s)
		s.Close()
	}
}
