package tutorial_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// shell runs blocks in bash as one terminal session would: the directory a
// block ends in and the variables it exports are the next block's. Each
// block is its own `bash -c` with `set -e -o pipefail` and umask 002,
// restoring the state the previous block saved (export -p, pwd) in a
// directory of the test.
type shell struct {
	t     *testing.T
	state string   // holds env.sh and cwd
	env   []string // the environment of every bash
	cwd   string   // the session's directory after the last block
}

// newShell starts a session in dir with the environment env.
func newShell(t *testing.T, dir string, env []string) *shell {
	t.Helper()
	s := &shell{t: t, state: t.TempDir(), env: env, cwd: dir}
	if err := os.WriteFile(filepath.Join(s.state, "env.sh"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.state, "cwd"), []byte(dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// script is body with the session's state restored before it and, when
// save is set, saved after it.
func (s *shell) script(body string, save bool) string {
	env, cwd := shellQuote(filepath.Join(s.state, "env.sh")), shellQuote(filepath.Join(s.state, "cwd"))
	var b strings.Builder
	// umask 002 as many users have it (Debian and Ubuntu give each user
	// their own group), so that files the page creates are group-writable
	// unless it says otherwise, and the agent's checks see them so.
	fmt.Fprintf(&b, "set -e -o pipefail\numask 002\n. %s\ncd \"$(cat %s)\"\n", env, cwd)
	b.WriteString(body)
	if save {
		fmt.Fprintf(&b, "\nexport -p > %s\npwd > %s\n", env, cwd)
	}
	return b.String()
}

// run runs body to its end and returns what it printed (stdout and stderr);
// an exit status other than 0 is an error.
func (s *shell) run(ctx context.Context, body string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", "-c", s.script(body, true))
	cmd.Env = s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), err
	}
	cwd, err := os.ReadFile(filepath.Join(s.state, "cwd"))
	if err != nil {
		return string(out), err
	}
	s.cwd = strings.TrimSuffix(string(cwd), "\n")
	return string(out), nil
}

// start starts body in its own process group, in the session's current
// state, and stops the group when the test ends: SIGTERM, then SIGKILL if
// it is still there after stopTimeout. If the test failed, the cleanup
// logs what the process printed.
func (s *shell) start(name, body string) (*proc, error) {
	p := &proc{name: name, out: newNotifyBuffer(), done: make(chan struct{})}
	p.cmd = exec.Command("bash", "-c", s.script(body, false))
	p.cmd.Env = s.env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = stopTimeout
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	s.t.Cleanup(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			s.t.Errorf("%s did not stop within %s of SIGTERM", name, stopTimeout)
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // whatever of the group is left
		<-p.done
		if s.t.Failed() {
			s.t.Logf("%s printed:\n%s", name, p.out.String())
		}
	})
	return p, nil
}

// stopTimeout bounds how long a started process may take to stop.
const stopTimeout = 10 * time.Second

// proc is a process a start block started.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *notifyBuffer
	done chan struct{} // closed when it ended; err is then set
	err  error
}

// waitOutput waits until ok accepts what p printed so far, for at most
// timeout; it fails early when p ends.
func (p *proc) waitOutput(timeout time.Duration, what string, ok func(string) bool) error {
	deadline := time.After(timeout)
	for {
		if ok(p.out.String()) {
			return nil
		}
		select {
		case <-p.out.changed:
		case <-p.done:
			if ok(p.out.String()) {
				return nil
			}
			return fmt.Errorf("%s ended (%v) before %s:\n%s", p.name, p.err, what, p.out.String())
		case <-deadline:
			return fmt.Errorf("%s: no %s within %s:\n%s", p.name, what, timeout, p.out.String())
		}
	}
}

// waitPoll waits until cond holds, checking it every 10ms for at most
// timeout (for conditions nothing signals, such as a process's exec); it
// fails early when p ends.
func (p *proc) waitPoll(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-p.done:
			return fmt.Errorf("%s ended (%v) before %s:\n%s", p.name, p.err, what, p.out.String())
		case <-deadline:
			return fmt.Errorf("%s: no %s within %s:\n%s", p.name, what, timeout, p.out.String())
		}
	}
	return nil
}

// notifyBuffer collects a process's output and signals every write on
// changed, so that a waiter needs no polling.
type notifyBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // capacity 1: one pending signal covers any number of writes
}

func newNotifyBuffer() *notifyBuffer {
	return &notifyBuffer{changed: make(chan struct{}, 1)}
}

func (b *notifyBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	n, err := b.buf.Write(p)
	b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (b *notifyBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// shellQuote quotes s for bash.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// descendants returns the pids of every process whose chain of parents
// leads to root, from the ppid field of /proc/PID/stat (proc(5)).
func descendants(root int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	parent := map[int]int{}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || fmt.Sprint(pid) != e.Name() {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // exited since the listing
		}
		if err != nil {
			return nil, err
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		var state string
		var ppid int
		if i < 0 {
			continue
		}
		if _, err := fmt.Sscan(string(stat[i+1:]), &state, &ppid); err != nil {
			continue
		}
		parent[pid] = ppid
	}
	var out []int
	for pid := range parent {
		for p, n := parent[pid], 0; p > 1 && n < 64; p, n = parent[p], n+1 {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out, nil
}
