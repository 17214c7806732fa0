package wasmhost

import (
	"os"
	"strings"
	"testing"
)

func TestNewSkipsBrokenPlugins(t *testing.T) {
	h, logs := newHost(t, Config{Plugins: []PluginSpec{handSpec("corrupt"), handSpec("hand")}})
	st := h.Stats()
	if len(st.Plugins) != 2 {
		t.Fatalf("stats list %d plugins, want 2", len(st.Plugins))
	}
	if bad := st.Plugins[0]; bad.Loaded || !strings.Contains(bad.LoadError, "not a valid WebAssembly module") || bad.LoadFailures != 1 {
		t.Errorf("corrupt plugin stats = %+v, want not loaded as invalid", bad)
	}
	if good := st.Plugins[1]; !good.Loaded || good.Loads != 1 {
		t.Errorf("hand plugin stats = %+v, want loaded", good)
	}
	if !containsAll(logs.String(), "plugin not loaded", "plugin=corrupt") {
		t.Errorf("log lacks the refusal:\n%s", logs)
	}
	out := h.Apply(t.Context(), []Input{proc(1, "x")})
	if v, _ := tagValue(out[0].Tags, "hand.k"); v != "v" {
		t.Errorf("tags = %v, want hand.k=v from the good plugin", out[0].Tags)
	}
}

func TestNewRefusesDuplicateNames(t *testing.T) {
	logger, _ := testLogger(t)
	_, err := New(t.Context(), Config{Plugins: []PluginSpec{handSpec("hand"), handSpec("hand")}}, logger)
	if err == nil || !strings.Contains(err.Error(), "plugin hand: configured twice") {
		t.Fatalf("New = %v, want a duplicate name error", err)
	}
}

func TestCompilationCacheOnDisk(t *testing.T) {
	dir := t.TempDir()
	newHost(t, Config{CacheDir: dir, Plugins: []PluginSpec{handSpec("hand")}})
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("the compilation cache directory is empty after a load")
	}
}

// TestDefaultFieldsWarning checks that loading a plugin whose manifest
// listed no fields warns that it reads only the default fields, and that a
// plugin that lists them loads without that warning.
func TestDefaultFieldsWarning(t *testing.T) {
	const warning = "lists no fields"
	for _, defaulted := range []bool{true, false} {
		_, buf := newHost(t, Config{Plugins: []PluginSpec{behave("b", func(p *PluginSpec) { p.DefaultFields = defaulted })}})
		if got := strings.Contains(buf.String(), warning); got != defaulted {
			t.Errorf("DefaultFields %v: warned %v; log:\n%s", defaulted, got, buf.String())
		}
	}
}
