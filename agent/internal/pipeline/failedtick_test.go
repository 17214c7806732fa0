package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/tags"
)

// TestExplanationAfterFailedTick: a tick whose socket step fails
// (here: the context is cancelled while the tag command runs, after the
// scan and before the sockets) still leaves Explanation able to explain
// the processes it decided: the tick's rule inputs and verdicts are the
// last tick's buffers, and must stand for Explanation once filled.
func TestExplanationAfterFailedTick(t *testing.T) {
	root := basicTree(t)
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	arm, mark := filepath.Join(dir, "arm"), filepath.Join(dir, "mark")
	script := filepath.Join(dir, "tags.sh")
	body := "#!/bin/sh\nif [ -e " + arm + " ]; then touch " + mark + "; sleep 20; fi\nexit 0\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	set, errs := rules.Compile(nil, func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	user := "nobody"
	if os.Geteuid() != 0 {
		user = ""
	}
	tr, err := tags.New(tags.Config{Command: []string{script}, User: user, Timeout: 30 * time.Second}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.Compile(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Root: root, Rules: set, FullRescanEvery: 10, Tags: tr, Redactor: red}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	snap, _, err := p.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pid := snap.Processes[len(snap.Processes)-1].PID
	if _, ok := p.Explanation(pid); !ok {
		t.Fatalf("pid %d not explained after a good tick", pid)
	}

	if err := os.WriteFile(arm, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ticked := make(chan struct{})
	go func() { // cancels the tick once the tag command runs
		for {
			if _, err := os.Stat(mark); err == nil {
				cancel()
				return
			}
			select {
			case <-ticked:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	_, st, err := p.Tick(ctx)
	close(ticked)
	if err == nil || !strings.HasPrefix(err.Error(), "sockets:") {
		t.Fatalf("tick error %v (steps %+v), want the socket step to fail", err, st.Steps)
	}
	t.Logf("failed tick: %v", err)
	if _, ok := p.Explanation(pid); !ok {
		t.Errorf("after a tick that failed in its socket step, Explanation(%d) = not seen; both that tick and the last good one saw pid %d", pid, pid)
	}
}
