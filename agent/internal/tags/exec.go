package tags

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/caps"
)

const (
	// stderrCap is how much stderr is kept; the rest is read and dropped so
	// the command never blocks on it.
	stderrCap = 64 << 10
	// stderrLines and stderrBytes bound the part of stderr put in an error.
	stderrLines = 5
	stderrBytes = 512
	// waitDelay bounds the wait for stdout/stderr to close once the group
	// is dead: only a process that left the group can still hold them.
	waitDelay = time.Second
)

var (
	errTimeout    = errors.New("timed out")
	errOutputOver = errors.New("output over the cap")
)

// outputOverError is the run's error when stdout passed the cap.
type outputOverError struct{ limit int }

func (e outputOverError) Error() string { return fmt.Sprintf("output over %d bytes", e.limit) }

// Is makes errors.Is(err, errOutputOver) true.
func (e outputOverError) Is(target error) bool { return target == errOutputOver }

// execute runs the command once and returns its stdout. It runs on a
// thread of its own whose inheritable and ambient capabilities are
// dropped first, so that the command gets none of the agent's (an agent
// started with ambient capabilities would otherwise pass them on through
// setuid to a non-root user and exec). The thread lives until the command
// is reaped, as Pdeathsig follows the thread that started the child, and
// then ends with its goroutine, never to run other Go code.
func (r *Runner) execute(ctx context.Context) ([]byte, error) {
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := caps.DropInheritable(); err != nil {
			done <- result{err: err}
			return
		}
		out, err := r.executeHere(ctx)
		done <- result{out, err}
	}()
	res := <-done
	return res.out, res.err
}

// executeHere runs the command on the calling thread and returns its
// stdout.
func (r *Runner) executeHere(ctx context.Context) ([]byte, error) {
	path, err := lookPath(r.argv[0])
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, r.timeout, fmt.Errorf("%w after %s", errTimeout, r.timeout))
	defer cancel()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}

	stdout := &capBuffer{limit: r.maxBytes, over: make(chan struct{})}
	stderr := &capBuffer{limit: stderrCap, drop: true}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   r.argv,
		Env:    []string{"PATH=" + execPath},
		Stdin:  nil, // os/exec opens /dev/null
		Stdout: stdout,
		Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:    true,
			Credential: r.cred,
			Pdeathsig:  syscall.SIGKILL,
		},
		WaitDelay: waitDelay,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		waitExited(pid)
	}()

	var cause error
	select {
	case <-exited:
	case <-ctx.Done():
		cause = context.Cause(ctx)
		killGroup(pid)
		<-exited
	case <-stdout.over:
		cause = outputOverError{r.maxBytes}
		killGroup(pid)
		<-exited
	}
	// The leader is dead but not reaped yet, so its pid, which is the group
	// id, cannot have been reused: killing the group now only hits what the
	// command left behind.
	killGroup(pid)
	waitErr := cmd.Wait()

	if cause == nil && stdout.overflowed() {
		cause = outputOverError{r.maxBytes}
	}
	if cause == nil {
		cause = waitErr
	}
	if cause == nil {
		return stdout.buf.Bytes(), nil
	}
	if head := stderrHead(stderr.buf.Bytes()); head != "" {
		return nil, fmt.Errorf("%w; stderr: %q", cause, head)
	}
	return nil, cause
}

// waitExited blocks until pid has exited, leaving it a zombie for
// cmd.Wait to reap (waitid with WNOWAIT).
func waitExited(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// killGroup sends SIGKILL to the process group led by pid; a group that is
// already gone (ESRCH) is fine.
func killGroup(pid int) {
	_ = unix.Kill(-pid, unix.SIGKILL)
}

// lookPath resolves a program name against execPath, not the agent's PATH,
// so that what runs does not depend on the agent's environment.
func lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(execPath) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found in %s: %w", name, execPath, exec.ErrNotFound)
}

// capBuffer keeps at most limit bytes. Past the limit it either drops the
// rest and keeps accepting (drop, for stderr) or fails the write and closes
// over (for stdout, whose overflow ends the run).
type capBuffer struct {
	limit int
	drop  bool
	over  chan struct{}

	mu       sync.Mutex
	buf      bytes.Buffer
	overOnce sync.Once
	isOver   bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.limit - c.buf.Len()
	if len(p) <= room {
		c.buf.Write(p)
		return len(p), nil
	}
	c.buf.Write(p[:max(room, 0)])
	if c.drop {
		return len(p), nil
	}
	c.isOver = true
	c.overOnce.Do(func() { close(c.over) })
	return max(room, 0), errOutputOver
}

func (c *capBuffer) overflowed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.isOver
}

// stderrHead is the first lines of stderr, joined with " | ", for an error
// message.
func stderrHead(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var out []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
		if len(out) == stderrLines {
			break
		}
	}
	s := strings.Join(out, " | ")
	if len(s) > stderrBytes {
		s = s[:stderrBytes] + "…"
	}
	return s
}
