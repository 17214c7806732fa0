package hostile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/proctag/proctag/agent/internal/runner"
)

// Every agent of this run goes through a wrapper, the test binary itself
// re-executed with wrapAgentEnv set, for two reasons.
//
// The compilation cache: the agent keeps compiled plugins in a disk cache
// (runner.WasmCacheDir, /var/cache/proctag/wasm for root) that outlives a
// run, so an attack compiled once would load from it the next time, with
// another wall time and RSS. The wrapper gives the agent cacheDir instead
// (as root, bind-mounted in a mount namespace of its own; otherwise as
// XDG_CACHE_HOME), so each attack module is compiled by its own run and
// only the good plugin, warmed by the baseline, comes from the cache.
//
// The peak RSS: Go starts children with CLONE_VM, and Linux folds the
// parent's peak RSS into a child's ru_maxrss at exec; measured directly,
// the agent would inherit the peak of this test process (which builds
// modules of tens of MB). The wrapper is a fresh, small process: it starts
// the agent, waits for it and reports the agent's own ru_maxrss (KiB) on
// file descriptor 3. It passes SIGTERM, SIGINT and SIGHUP on; SIGUSR1,
// which the hard limit sends, makes it report the agent's peak so far and
// kill it; and the agent dies with it (Pdeathsig) if it is killed.

// wrapAgentEnv, when set to the agent's path, makes the test binary the
// agent's wrapper; wrapCacheEnv is the cache directory to give it.
const (
	wrapAgentEnv = "HOSTILE_WRAP_AGENT"
	wrapCacheEnv = "HOSTILE_WRAP_CACHE"
)

// agentCommand returns the command running the agent with args through the
// wrapper, and the read end of the pipe the wrapper reports on (the caller
// closes it; the write end is closed by agentStarted).
func agentCommand(ctx context.Context, args ...string) (*exec.Cmd, *os.File, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	report, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGUSR1) }
	cmd.Env = append(os.Environ(), wrapAgentEnv+"="+agentBin, wrapCacheEnv+"="+cacheDir)
	cmd.ExtraFiles = []*os.File{w}
	if os.Geteuid() == 0 {
		// Go makes the new namespace's mounts private before the exec.
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	}
	return cmd, report, nil
}

// agentStarted closes the parent's copy of the report pipe's write end
// (call it after Start, whether it worked or not), so that reading the
// report ends when the wrapper exits.
func agentStarted(cmd *exec.Cmd) {
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
}

// readRSS reads the wrapper's report: the agent's peak RSS in bytes, or
// an error when the wrapper died before it could report.
func readRSS(report *os.File) (int64, error) {
	line, err := bufio.NewReader(report).ReadString('\n')
	if err != nil {
		return 0, errors.New("no RSS report from the wrapper")
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	return kib << 10, err
}

// execAgent is the wrapper; it never returns.
func execAgent() {
	runtime.LockOSThread() // Pdeathsig follows the thread that started the agent
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "hostile wrapper:", err)
		os.Exit(127)
	}
	agent, cache := os.Getenv(wrapAgentEnv), os.Getenv(wrapCacheEnv)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, wrapAgentEnv+"=") && !strings.HasPrefix(kv, wrapCacheEnv+"=") {
			env = append(env, kv)
		}
	}
	if os.Geteuid() == 0 {
		target := runner.WasmCacheDir()
		if err := os.MkdirAll(target, 0o755); err != nil {
			fail(err)
		}
		if err := syscall.Mount(cache, target, "", syscall.MS_BIND, ""); err != nil {
			fail(fmt.Errorf("bind-mount %s on %s: %w", cache, target, err))
		}
	} else {
		env = append(env, "XDG_CACHE_HOME="+cache)
	}
	cmd := exec.Command(agent, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = os.Stdin, os.Stdout, os.Stderr, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	report := os.NewFile(3, "report")
	go func() {
		for s := range sigs {
			if s == syscall.SIGUSR1 {
				// The hard limit: report the peak so far, then kill.
				fmt.Fprintf(report, "%d\n", peakKiB(cmd.Process.Pid))
				_ = cmd.Process.Kill()
				continue
			}
			_ = cmd.Process.Signal(s)
		}
	}()
	_ = cmd.Wait()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Fprintf(report, "%d\n", ru.Maxrss)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(cmd.ProcessState.ExitCode())
}

// peakKiB is VmHWM of a running process: its peak RSS so far, KiB; 0 when
// unreadable.
func peakKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
