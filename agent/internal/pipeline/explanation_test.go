package pipeline

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/golden"
	"github.com/proctag/proctag/agent/internal/render"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/sandbox"
	"github.com/proctag/proctag/agent/internal/wasmhost"
)

// TestExplanationGolden: the Explanation of every process of the basic
// tree, with skipped rules, each match type and a plugin, and without
// plugins, printed by render, equals the golden file (-update rewrites it).
func TestExplanationGolden(t *testing.T) {
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
			var all bytes.Buffer
			for _, pid := range pids {
				x, ok := p.Explanation(pid)
				if ok != (pid != 424242) {
					t.Fatalf("pid %d: Explanation ok %v", pid, ok)
				}
				if !ok {
					continue
				}
				if err := render.Explanation(&all, x); err != nil {
					t.Fatal(err)
				}
				all.WriteString("\n")
				if len(x.Plugins.Effects) > 0 {
					applied++
				}
			}
			golden.Check(t, filepath.Join("testdata", "explain-"+strings.ReplaceAll(name, " ", "-")+".golden"), all.Bytes())
			if withPlugin && applied == 0 {
				t.Error("no process shows a plugin effect")
			}
		})
	}
}

// watHello assembles plugins/wat-hello with wat2wasm and starts a host
// with it, granted the tag capability; mods change its spec.
func watHello(t *testing.T, mods ...func(*wasmhost.PluginSpec)) *wasmhost.Host {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm is not installed: run `make deps` or `apt-get install -y wabt`")
	}
	wasm := filepath.Join(t.TempDir(), "wat-hello.wasm")
	if b, err := exec.Command("wat2wasm", "../../../plugins/wat-hello/wat-hello.wat", "-o", wasm).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	spec := wasmhost.PluginSpec{Spec: sandbox.Spec{
		Name: "wat-hello", Path: wasm, Capabilities: []string{"tag"}, TagPrefix: "wat/",
		Fields: []string{"pid", "name"}, Timeout: time.Second, MemoryLimitBytes: 64 << 20, Instances: 1,
	}}
	for _, m := range mods {
		m(&spec)
	}
	h, err := wasmhost.New(t.Context(), wasmhost.Config{Plugins: []wasmhost.PluginSpec{spec}}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.WithoutCancel(t.Context())) })
	if st := h.Stats().Plugins; len(st) != 1 || !st[0].Loaded {
		t.Fatalf("wat-hello did not load: %+v", st)
	}
	return h
}
