package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// groups are the process groups this program started and has not seen
// end, so that every one is killed however the program exits. Safe for
// concurrent use.
type groups struct {
	mu    sync.Mutex
	pgids map[int]bool
}

// newGroups returns an empty set.
func newGroups() *groups { return &groups{pgids: make(map[int]bool)} }

// start starts cmd in a process group of its own, killed with SIGKILL
// should this program die first, and tracks the group.
func (g *groups) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	g.mu.Lock()
	g.pgids[cmd.Process.Pid] = true
	g.mu.Unlock()
	return nil
}

// done forgets the group led by pid, once its leader has been waited for.
func (g *groups) done(pid int) {
	g.mu.Lock()
	delete(g.pgids, pid)
	g.mu.Unlock()
}

// killAll sends SIGKILL to every tracked group.
func (g *groups) killAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for pgid := range g.pgids {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// child is a running process of this binary in a child mode. Its stdout
// lines arrive on lines, which is closed at EOF; the caller drains it
// when the mode writes more than a few lines. Closing stdin asks the
// child to stop.
type child struct {
	name  string
	pid   int
	stdin io.WriteCloser
	lines chan string
	// done is closed once the child was waited for; err is Wait's error.
	done chan struct{}
	err  error
}

// startChild runs this binary with args (a child mode) under g.
func startChild(g *groups, self, name string, args ...string) (*child, error) {
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := g.start(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, pid: cmd.Process.Pid, stdin: stdin, lines: make(chan string, 64), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.err = cmd.Wait()
		g.done(c.pid)
		close(c.done)
	}()
	return c, nil
}

// ready waits up to timeout for the child's first line, "ready ...", and
// returns the fields after "ready".
func (c *child) ready(ctx context.Context, timeout time.Duration) ([]string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-c.lines:
		if !ok {
			<-c.done
			return nil, fmt.Errorf("%s (pid %d) exited before it was ready: %v", c.name, c.pid, c.err)
		}
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "ready" {
			return nil, fmt.Errorf("%s (pid %d) said %q, want ready", c.name, c.pid, line)
		}
		return f[1:], nil
	case <-t.C:
		return nil, fmt.Errorf("%s (pid %d) not ready after %v", c.name, c.pid, timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errKilled is returned by stop for a child that had to be killed.
var errKilled = errors.New("killed: did not exit when its stdin closed")

// stop closes the child's stdin, which ends it, and waits for it up to
// timeout; then it kills the child's group. The child's lines must be
// drained (or few) for it to be waited for.
func (c *child) stop(timeout time.Duration) error {
	c.stdin.Close()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
		return c.err
	case <-t.C:
	}
	_ = syscall.Kill(-c.pid, syscall.SIGKILL)
	for range c.lines { // unblock the reader, should nobody drain them
	}
	<-c.done
	return fmt.Errorf("%s (pid %d): %w", c.name, c.pid, errKilled)
}
