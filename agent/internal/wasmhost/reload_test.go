package wasmhost

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/waitfor"
)

// dropIn copies src to dir/NAME.wasm and writes NAME.yaml when manifest is
// not "".
func dropIn(t *testing.T, dir, name, src, manifest string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	// Write then rename, as an operator's install would.
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name+".wasm")); err != nil {
		t.Fatal(err)
	}
	if manifest != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPluginDirReload(t *testing.T) {
	dir := t.TempDir()
	dropIn(t, dir, "a", behaveWasm, "config: prefix=a.\ntag-prefix: a.\n")
	h, logs := newHost(t, Config{PluginDir: dir, Plugins: []PluginSpec{handSpec("hand")}})
	ctx := t.Context()
	in := []Input{proc(1, "svc")}

	out := h.Apply(ctx, in)
	if v, _ := tagValue(out[0].Tags, "a.name"); v != "svc" || len(out[0].Effects) != 2 || out[0].Effects[0].Plugin != "hand" {
		t.Fatalf("initial load: %+v, want hand then a", out[0])
	}

	// A broken new version: refused, the old one keeps serving.
	if err := os.WriteFile(filepath.Join(dir, "a.wasm"), []byte("\x00asm\x01\x00\x00\x00junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !containsAll(logs.String(), "plugin reload refused, previous version keeps serving", "plugin=a") {
		t.Errorf("refusal not logged:\n%s", logs)
	}
	st := pluginStats(t, h, "a")
	if !st.Loaded || !strings.Contains(st.LoadError, "not a valid WebAssembly module") || st.LoadFailures != 1 {
		t.Errorf("stats after a broken reload = %+v", st)
	}
	calls := st.Calls
	out = h.Apply(ctx, in)
	if v, _ := tagValue(out[0].Tags, "a.name"); v != "svc" || pluginStats(t, h, "a").Calls != calls {
		t.Errorf("old version not serving from cache: %+v", out[0])
	}

	// A good new version (new manifest): swapped in, called again.
	dropIn(t, dir, "a", behaveWasm, "config: prefix=a2.\ntag-prefix: a2.\n")
	if err := h.poll(ctx); err != nil {
		t.Fatal(err)
	}
	out = h.Apply(ctx, in)
	if v, _ := tagValue(out[0].Tags, "a2.name"); v != "svc" || !out[0].Effects[1].Called {
		t.Errorf("after reload: %+v, want the new version called", out[0])
	}
	if st := pluginStats(t, h, "a"); st.Loads != 2 || st.LoadError != "" {
		t.Errorf("stats after reload = %+v", st)
	}

	// Touching the files without changing them does not reload.
	now := time.Now().Add(time.Second)
	if err := os.Chtimes(filepath.Join(dir, "a.wasm"), now, now); err != nil {
		t.Fatal(err)
	}
	if err := h.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := pluginStats(t, h, "a"); st.Loads != 2 {
		t.Errorf("touch reloaded the plugin: loads = %d", st.Loads)
	}

	// A second plugin without manifest: defaults, prefix "b.".
	dropIn(t, dir, "b", modulePath("hand"), "")
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("tag-prefix: hand.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dropIn(t, dir, "c", modulePath("hand"), "")
	if err := h.poll(ctx); err != nil {
		t.Fatal(err)
	}
	names := func() []string {
		var n []string
		for _, s := range h.Stats().Plugins {
			if s.Loaded {
				n = append(n, s.Name)
			}
		}
		return n
	}
	if got := strings.Join(names(), ","); got != "hand,a,b,c" {
		t.Errorf("loaded plugins = %s, want hand,a,b,c", got)
	}
	out = h.Apply(ctx, in)
	// c has no manifest: its default prefix "c." does not allow hand.k.
	if len(out[0].Effects) != 4 || out[0].Effects[3].Plugin != "c" || !strings.Contains(out[0].Effects[3].Err.Error(), `outside the granted prefix "c."`) {
		t.Errorf("effects = %+v, want c's output refused", out[0].Effects)
	}

	// Removing a module unloads it.
	if err := os.Remove(filepath.Join(dir, "a.wasm")); err != nil {
		t.Fatal(err)
	}
	if err := h.poll(ctx); err != nil {
		t.Fatal(err)
	}
	out = h.Apply(ctx, in)
	if _, ok := tagValue(out[0].Tags, "a2.name"); ok || len(out[0].Effects) != 3 || !strings.Contains(logs.String(), "plugin unloaded") {
		t.Errorf("after removal: %+v, want a gone", out[0])
	}
}

func TestPluginDirNameClash(t *testing.T) {
	dir := t.TempDir()
	dropIn(t, dir, "hand", modulePath("hand"), "")
	h, logs := newHost(t, Config{PluginDir: dir, Plugins: []PluginSpec{handSpec("hand")}})
	if n := len(h.Stats().Plugins); n != 1 || !strings.Contains(logs.String(), "a configured plugin has its name") {
		t.Errorf("%d plugins, log:\n%s", n, logs)
	}
}

func TestRunPicksUpNewModules(t *testing.T) {
	dir := t.TempDir()
	h, _ := newHost(t, Config{PluginDir: dir, PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	dropIn(t, dir, "late", behaveWasm, "config: prefix=late.\ntag-prefix: late.\n")
	waitfor.Until(t, 30*time.Second, func() bool {
		out := h.Apply(t.Context(), []Input{proc(1, "svc")})
		_, ok := tagValue(out[0].Tags, "late.name")
		return ok
	}, "the dropped-in plugin to load")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil on cancel", err)
	}
}

func TestRunWithoutPluginDir(t *testing.T) {
	h, _ := newHost(t, Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.Run(ctx); err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestNewFailsOnUnreadablePluginDir(t *testing.T) {
	logger, _ := testLogger(t)
	_, err := New(t.Context(), Config{PluginDir: filepath.Join(t.TempDir(), "missing")}, logger)
	if err == nil || !strings.Contains(err.Error(), "read plugin-dir") {
		t.Errorf("New = %v, want a plugin-dir error", err)
	}
}

// TestDirsInRun: with DirsInRun, New loads no drop-in (a slow one would
// delay the first tick) and Run loads them as it starts.
func TestDirsInRun(t *testing.T) {
	dir := t.TempDir()
	dropIn(t, dir, "a", behaveWasm, "config: prefix=a.\ntag-prefix: a.\n")
	h, _ := newHost(t, Config{PluginDir: dir, DirsInRun: true, PollInterval: time.Hour})
	if n := len(h.Stats().Plugins); n != 0 {
		t.Fatalf("New loaded %d plugins, want none before Run", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	waitfor.Until(t, 30*time.Second, func() bool {
		out := h.Apply(t.Context(), []Input{proc(1, "svc")})
		_, ok := tagValue(out[0].Tags, "a.name")
		return ok
	}, "Run to load the drop-in")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
