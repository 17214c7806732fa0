package tutorial_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/snapshot"
)

const (
	// natsAddr is the agent's NATS address on the page; the test gives
	// the agent a free port instead.
	natsAddr = "127.0.0.1:4333"
	// teamTag is what the page's plugin sets on a java process.
	teamTag = `acme.io/team="payments"`

	stepTimeout  = 5 * time.Minute  // one run block (go mod tidy may download)
	checkTimeout = 90 * time.Second // a checked block, run until its output passes
	readyTimeout = 60 * time.Second // a started process becoming ready
)

// binDir holds the proctag binary the tests build once.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "proctag-tutorial-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildOnce struct {
	sync.Once
	err error
}

// proctagBinary builds ./agent/cmd/proctag of this checkout into binDir,
// once for all tests, and returns its path.
func proctagBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "proctag")
	buildOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", bin, "./agent/cmd/proctag")
		cmd.Dir = repoRoot(t)
		cmd.Env = withoutVars(os.Environ(), "GOOS", "GOARCH")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build ./agent/cmd/proctag: %w\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return bin
}

// repoRoot is the checkout this test runs in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "sdk", "README.md")); err != nil {
		t.Fatalf("not a proctag checkout: %v", err)
	}
	return root
}

// withoutVars is env without the variables named.
func withoutVars(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// TestTutorial follows sdk/README.md in a fresh directory outside the
// repository, block by block (see doc.go), and ends with the plugin's tag
// on the java process the page started, in `proctag watch` of the agent
// the page runs.
func TestTutorial(t *testing.T) {
	if testing.Short() {
		t.Skip("builds proctag and a wasm plugin and runs the agent")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("the tutorial's commands need bash:", err)
	}
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "sdk", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	steps, err := parseSteps(string(md))
	if err != nil {
		t.Fatalf("sdk/README.md:\n%v", err)
	}
	bin := proctagBinary(t)
	// A newcomer's environment: PROCTAG and PATH as the page's first
	// block sets them, no GOFLAGS or go.work of ours (so that a missing
	// `go mod tidy` fails as it would for them).
	env := withoutVars(os.Environ(), "PROCTAG", "PATH", "GOFLAGS", "GOWORK", "GOOS", "GOARCH", "CDPATH", "BASH_ENV", "ENV")
	env = append(env, "PROCTAG="+root, "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"), "GOFLAGS=", "GOWORK=off")

	tu := &tutorial{t: t, sh: newShell(t, t.TempDir(), env), addr: "127.0.0.1:0", substituted: map[string]int{}, used: map[string]bool{}}
	for _, s := range steps {
		start := time.Now()
		runs := tu.step(s)
		t.Logf("sdk/README.md:%d: %s %s (%s, run %d times)", s.line, s.kind, s.arg, time.Since(start).Round(time.Millisecond), runs)
	}
	for name := range checks {
		if !tu.used[name] {
			t.Errorf("sdk/README.md has no <!-- tutorial: run %s --> block any more: the test lost that check", name)
		}
	}
	for name := range starts {
		if !tu.used[name] {
			t.Errorf("sdk/README.md has no <!-- tutorial: start %s --> block any more: the test lost that process", name)
		}
	}
	if tu.substituted["file"] == 0 || tu.substituted["run"] == 0 {
		t.Errorf("sdk/README.md no longer has %s in a file and a command (%v): update natsAddr", natsAddr, tu.substituted)
	}
}

// tutorial is one run through the page: its shell and what the hooks
// learnt on the way.
type tutorial struct {
	t           *testing.T
	sh          *shell
	addr        string         // what natsAddr becomes: 127.0.0.1:0 until the agent says its port
	substituted map[string]int // blocks in which natsAddr was replaced, by kind
	used        map[string]bool
	javaPID     int // the process the `start java` block started
}

// checks are the hooks of `run CHECK` blocks: nil when the block's output
// shows what it should; else the block runs again, until checkTimeout.
var checks = map[string]func(tu *tutorial, out string) error{
	"plugin-test": (*tutorial).checkPluginTest,
	"watch":       (*tutorial).checkWatch,
	"explain":     (*tutorial).checkExplain,
}

// starts are the hooks of `start NAME` blocks: they wait until the process
// is ready.
var starts = map[string]func(tu *tutorial, p *proc) error{
	"java":  (*tutorial).startedJava,
	"agent": (*tutorial).startedAgent,
}

// step does what s's marker says and returns how many times it ran the
// block.
func (tu *tutorial) step(s step) (runs int) {
	t := tu.t
	t.Helper()
	where := fmt.Sprintf("sdk/README.md:%d", s.line)
	if s.kind == "skip" {
		return 0
	}
	body := s.body
	if strings.Contains(body, natsAddr) {
		body = strings.ReplaceAll(body, natsAddr, tu.addr)
		tu.substituted[s.kind]++
	}
	switch s.kind {
	case "file":
		// Saved as an editor would with the shell's umask 002.
		path := filepath.Join(tu.sh.cwd, s.arg)
		if err := os.MkdirAll(filepath.Dir(path), 0o775); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o664); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o664); err != nil {
			t.Fatal(err)
		}
		return 0
	case "run":
		check := checks[s.arg]
		if s.arg != "" && check == nil {
			t.Fatalf("%s: no check %q in this test", where, s.arg)
		}
		tu.used[s.arg] = true
		// A checked block runs again while its output lacks what the
		// check wants (the agent's next tick), and after a failure (a
		// process that ended between pgrep and explain), at most
		// maxFailures times in a row; all its runs end by checkTimeout.
		const maxFailures = 3
		deadline := time.Now().Add(checkTimeout)
		if check == nil {
			deadline = time.Now().Add(stepTimeout)
		}
		failures := 0
		for runs = 1; ; runs++ {
			ctx, cancel := context.WithDeadline(t.Context(), deadline)
			out, err := tu.sh.run(ctx, body)
			if err != nil && ctx.Err() != nil {
				err = fmt.Errorf("%w: still running at the deadline", err)
			}
			cancel()
			if err != nil {
				failures++
			} else {
				failures = 0
			}
			if err != nil && (check == nil || failures == maxFailures) {
				t.Fatalf("%s: %v\n%s\n%s", where, err, body, out)
			}
			if check == nil {
				return runs
			}
			if err == nil {
				err = check(tu, out)
			}
			if err == nil {
				t.Logf("%s: %s printed:\n%s", where, strings.TrimSpace(body), out)
				return runs
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s\n%s\n%s", where, err, body, out)
			}
		}
	case "start":
		hook := starts[s.arg]
		if hook == nil {
			t.Fatalf("%s: no start hook %q in this test", where, s.arg)
		}
		tu.used[s.arg] = true
		p, err := tu.sh.start(s.arg, body)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if err := hook(tu, p); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
	}
	return 1
}

// startedJava waits until the stand-in runs as java (after its exec) and
// keeps its pid.
func (tu *tutorial) startedJava(p *proc) error {
	isJava := func(pid int) bool {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return err == nil && bytes.HasPrefix(cmdline, []byte("java\x00"))
	}
	return p.waitPoll(readyTimeout, "process named java", func() bool {
		pids, err := descendants(p.cmd.Process.Pid)
		if err != nil {
			tu.t.Fatal(err)
		}
		for _, pid := range append(pids, p.cmd.Process.Pid) {
			if isJava(pid) {
				tu.javaPID = pid
				return true
			}
		}
		return false
	})
}

var (
	// agentStartedRE matches the agent's start line and its NATS URL.
	agentStartedRE = regexp.MustCompile(`agent started:.* nats=nats://(\S+)`)
	// pluginLoadedRE matches the line the page tells the reader to wait for.
	pluginLoadedRE = regexp.MustCompile(`plugin loaded:.* ?plugin=team-tags\b`)
)

// startedAgent waits until the agent has started and loaded the plugin, as
// the page tells the reader to, and takes its NATS address.
func (tu *tutorial) startedAgent(p *proc) error {
	err := p.waitOutput(readyTimeout, "`agent started` and `plugin loaded: plugin=team-tags` in its log", func(out string) bool {
		return agentStartedRE.MatchString(out) && pluginLoadedRE.MatchString(out)
	})
	if err != nil {
		return err
	}
	tu.addr = agentStartedRE.FindStringSubmatch(p.out.String())[1]
	return nil
}

// checkPluginTest wants the stand-in among the calls, tagged.
func (tu *tutorial) checkPluginTest(out string) error {
	lines := strings.Split(out, "\n")
	call := fmt.Sprintf("pid %d java ", tu.javaPID)
	for i, l := range lines {
		if strings.HasPrefix(l, call) {
			if i+1 < len(lines) && strings.Contains(lines[i+1], "-> set tag "+teamTag) {
				return nil
			}
			return fmt.Errorf("the call for pid %d did not set %s", tu.javaPID, teamTag)
		}
	}
	return fmt.Errorf("no call for pid %d (java)", tu.javaPID)
}

// checkWatch wants the stand-in published with the plugin's tag.
func (tu *tutorial) checkWatch(out string) error {
	var snap snapshot.Snapshot
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		return fmt.Errorf("watch --once --format json printed no single snapshot: %v", err)
	}
	for _, p := range snap.Processes {
		if p.PID == tu.javaPID {
			if p.Tags["acme.io/team"] == "payments" {
				return nil
			}
			return fmt.Errorf("pid %d published with tags %v, not %s (yet)", tu.javaPID, p.Tags, teamTag)
		}
	}
	return fmt.Errorf("pid %d is not among the %d processes published (yet)", tu.javaPID, len(snap.Processes))
}

// checkExplain wants the plugin's effect in the explanation.
func (tu *tutorial) checkExplain(out string) error {
	if want := "team-tags: called, set tag " + teamTag; !strings.Contains(out, want) {
		return fmt.Errorf("explain does not say %q", want)
	}
	return nil
}
