package wasmhost

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/internal/sandbox"
	"github.com/proctag/proctag/agent/internal/sandbox/sandboxtest"
)

// tenantModule is a module whose proctag_init returns init; version
// changes its bytes only.
func tenantModule(t *testing.T, init, version int, out string) {
	t.Helper()
	text := fmt.Sprintf(`(module
  (memory (export "memory") 1)
  (data (i32.const 8) "v%d")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const %d))
  (func (export "proctag_process") (param i32 i32) (result i64) (i64.const 0)))`, version, init)
	sandboxtest.Wat(t, text, out)
}

// tenantHost starts a host with tenant team (max-plugins 1, its own
// directory) and the compilation cache in cacheDir.
func tenantHost(t *testing.T, cacheDir string) (*Host, string, *syncBuffer) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "team")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	parse := func(string, []byte) (PluginSpec, error) {
		return PluginSpec{Spec: sandbox.Spec{Capabilities: []string{"tag"}, TagPrefix: "team.",
			Scope: sandbox.Scope{UIDs: []int{1000}}, MemoryLimitBytes: 1 << 20, Instances: 1}}, nil
	}
	h, buf := newHost(t, Config{CacheDir: cacheDir, Tenants: []Tenant{{Name: "team", PluginDir: dir,
		UIDs: []int{1000}, MaxPlugins: 1, ParseManifest: parse}}})
	return h, dir, buf
}

// TestTenantDirectoryIsBounded is a tenant's attack on the agent through
// its plugin directory (max-plugins 1): names churned past max-plugins,
// modules rewritten again and again, many modules whose init fails. Each
// must cost the agent a bounded amount of logging, memory, disk and
// compiling.
func TestTenantDirectoryIsBounded(t *testing.T) {
	ctx := context.Background()
	t.Run("names churned past max-plugins", func(t *testing.T) {
		h, dir, logs := tenantHost(t, "")
		tenantModule(t, 0, 0, filepath.Join(dir, "a.wasm"))
		for i := range 300 {
			f := filepath.Join(dir, fmt.Sprintf("z%05d.wasm", i))
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := h.poll(ctx); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
			if err := h.poll(ctx); err != nil {
				t.Fatal(err)
			}
		}
		h.mu.RLock()
		kept := len(h.counters)
		h.mu.RUnlock()
		if lines := strings.Count(logs.String(), "[ERROR]"); lines > 1 || kept != 1 {
			t.Errorf("300 names churned past max-plugins: %d error lines, %d counters kept (want at most 1 and 1):\n%.2000s", lines, kept, logs)
		}
	})
	t.Run("a module rewritten 40 times", func(t *testing.T) {
		cache := t.TempDir()
		h, dir, _ := tenantHost(t, cache)
		for i := range 40 {
			tenantModule(t, 0, i, filepath.Join(dir, "a.wasm"))
			if err := h.poll(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if st := pluginStats(t, h, "team/a"); st.Loads != 40 {
			t.Fatalf("%d loads of 40 versions", st.Loads)
		}
		files := 0
		if err := filepath.WalkDir(cache, func(_ string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files++
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if files != 0 {
			t.Errorf("40 versions of a tenant's module left %d files in the agent's compilation cache", files)
		}
	})
	t.Run("30 modules whose init fails", func(t *testing.T) {
		h, dir, logs := tenantHost(t, "")
		for i := range 30 {
			tenantModule(t, 1, i, filepath.Join(dir, fmt.Sprintf("b%03d.wasm", i)))
		}
		if err := h.poll(ctx); err != nil {
			t.Fatal(err)
		}
		failures := uint64(0)
		for _, st := range h.Stats().Plugins {
			failures += st.LoadFailures
		}
		if notLoaded := strings.Count(logs.String(), "plugin not loaded"); failures != 1 || notLoaded != 1 {
			t.Errorf("max-plugins 1, 30 modules failing init: %d loads tried, %d logged (want 1 and 1)", failures, notLoaded)
		}
	})
}
