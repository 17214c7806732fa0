package pipeline

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/render"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/sandbox"
	"github.com/proctag/proctag/agent/internal/wasmhost"
)

// TestExplanationPrintsAsExplain: the Explanation value, printed by
// render, reads exactly as Explain's text, for every process of the basic
// tree, with skipped rules, each match type and a plugin, and without
// plugins.
func TestExplanationPrintsAsExplain(t *testing.T) {
	specs := []rules.Spec{
		{MatchRegex: "(?=x)"},
		{MatchRegex: "^sshd$", Action: "drop", RewriteName: "ignored"},
		{MatchRegex: `python3 (.*)\.py`, MatchType: "cmdline", RewriteName: "$1-py-script"},
		{MatchRegex: "^nginx$", MatchType: "parent_process_name"},
		{MatchRegex: "nope", Action: "Allow"},
		{MatchRegex: `^(?P<first>\w)(x)?`, RewriteName: "%UNSET%"},
	}
	for _, withPlugin := range []bool{false, true} {
		name := map[bool]string{false: "no plugins", true: "wat-hello"}[withPlugin]
		t.Run(name, func(t *testing.T) {
			root := basicTree(t)
			set, _ := rules.Compile(specs, func(string) (string, bool) { return "", false })
			cfg := Config{Root: root, Rules: set, FullRescanEvery: 10}
			if withPlugin {
				cfg.Plugins = watHello(t)
			}
			p, err := New(cfg, hclog.NewNullLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			snap, _, err := p.Tick(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			pids := []int{2, 424242}
			for _, pr := range snap.Processes {
				pids = append(pids, pr.PID)
			}
			applied := 0
			for _, pid := range pids {
				text, ok := p.Explain(pid)
				x, xok := p.Explanation(pid)
				if ok != xok {
					t.Fatalf("pid %d: Explain ok %v, Explanation ok %v", pid, ok, xok)
				}
				var b bytes.Buffer
				if err := render.Explanation(&b, x); err != nil {
					t.Fatal(err)
				}
				if len(x.Plugins.Effects) > 0 {
					applied++
				}
				if ok && b.String() != text {
					t.Errorf("pid %d: render.Explanation differs from Explain:\n--- render\n%s\n--- Explain\n%s", pid, b.String(), text)
				}
			}
			if withPlugin && applied == 0 {
				t.Error("no process shows a plugin effect")
			}
		})
	}
}

// watHello assembles plugins/wat-hello with wat2wasm and starts a host
// with it, granted the tag capability.
func watHello(t *testing.T) *wasmhost.Host {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm is not installed: run `make deps` or `apt-get install -y wabt`")
	}
	wasm := filepath.Join(t.TempDir(), "wat-hello.wasm")
	if b, err := exec.Command("wat2wasm", "../../../plugins/wat-hello/wat-hello.wat", "-o", wasm).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	h, err := wasmhost.New(t.Context(), wasmhost.Config{Plugins: []wasmhost.PluginSpec{{Spec: sandbox.Spec{
		Name: "wat-hello", Path: wasm, Capabilities: []string{"tag"}, TagPrefix: "wat/",
		Fields: []string{"pid", "name"}, Timeout: time.Second, MemoryLimitBytes: 64 << 20, Instances: 1,
	}}}}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.WithoutCancel(t.Context())) })
	if st := h.Stats().Plugins; len(st) != 1 || !st[0].Loaded {
		t.Fatalf("wat-hello did not load: %+v", st)
	}
	return h
}
