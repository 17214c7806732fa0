package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultHasPluginLimits(t *testing.T) {
	if got := Default().PluginLimits; got != DefaultPluginLimits() || got.MaxModuleBytes != 32<<20 {
		t.Errorf("Default().PluginLimits = %+v, want DefaultPluginLimits() %+v", got, DefaultPluginLimits())
	}
}

// TestPluginLimits: each key sets its field; sizes are exact (not rounded
// to wasm pages as memory-limit is) and the range ends are allowed.
func TestPluginLimits(t *testing.T) {
	tests := []struct {
		name, yml string
		want      func(l *PluginLimits)
	}{
		{"module size in KiB, not rounded", "max-module-size: 100KiB", func(l *PluginLimits) { l.MaxModuleBytes = 100 << 10 }},
		{"module size in bytes, not rounded", "max-module-size: 1025", func(l *PluginLimits) { l.MaxModuleBytes = 1025 }},
		{"module size at the 1GiB maximum", "max-module-size: 1GiB", func(l *PluginLimits) { l.MaxModuleBytes = 1 << 30 }},
		{"module size at the 1KiB minimum", `max-module-size: "1 KiB"`, func(l *PluginLimits) { l.MaxModuleBytes = 1 << 10 }},
		{"functions", "max-functions: 1000000", func(l *PluginLimits) { l.MaxFunctions = 1_000_000 }},
		{"function size of one byte", "max-function-size: 1", func(l *PluginLimits) { l.MaxFunctionBytes = 1 }},
		{"function size at 16MiB", "max-function-size: 16MiB", func(l *PluginLimits) { l.MaxFunctionBytes = 16 << 20 }},
		{"nesting", "max-nesting: 1", func(l *PluginLimits) { l.MaxNesting = 1 }},
		{"locals", "max-locals: 77", func(l *PluginLimits) { l.MaxLocals = 77 }},
		{"stack at 64KiB", "max-stack-size: 65536", func(l *PluginLimits) { l.MaxStackBytes = 64 << 10 }},
		{"stack at 256MiB", "max-stack-size: 256MiB", func(l *PluginLimits) { l.MaxStackBytes = 256 << 20 }},
		{"table elements", "max-table-elements: 10000000", func(l *PluginLimits) { l.MaxTableElements = 10_000_000 }},
		{"compile timeout at 10m", "compile-timeout: 10m", func(l *PluginLimits) { l.CompileTimeout = 10 * time.Minute }},
		{"compile timeout in whole seconds", "compile-timeout: 5", func(l *PluginLimits) { l.CompileTimeout = 5 * time.Second }},
		{"null keeps the default", "max-locals:", func(*PluginLimits) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := parse(t, "plugin-limits:\n  "+tt.yml+"\n")
			want := DefaultPluginLimits()
			tt.want(&want)
			if cfg.PluginLimits != want {
				t.Errorf("got %+v\nwant %+v", cfg.PluginLimits, want)
			}
		})
	}
}

func TestPluginLimitsErrors(t *testing.T) {
	tests := []struct {
		name, yml, want string
	}{
		{"module size below 1KiB", "max-module-size: 1023", `max-module-size: "1023" is not a size from 1KiB to 1GiB`},
		{"module size above 1GiB", "max-module-size: 2GiB", `max-module-size: "2GiB" is not a size from 1KiB to 1GiB`},
		{"module size not a size", "max-module-size: 32MB", `max-module-size: "32MB" is not a size like "64MiB", "512KiB", "1GiB" or a number of bytes`},
		{"negative size", "max-stack-size: -1", `max-stack-size: "-1" is not a size like "64MiB", "512KiB", "1GiB" or a number of bytes`},
		{"zero functions", "max-functions: 0", `max-functions: 0 is not an integer from 1 to 1000000`},
		{"function size zero", "max-function-size: 0", `max-function-size: "0" is not a size from 1 byte to 16MiB`},
		{"function size over 16MiB", "max-function-size: 16777217", `max-function-size: "16777217" is not a size from 1 byte to 16MiB`},
		{"nesting too deep", "max-nesting: 100001", `max-nesting: 100001 is not an integer from 1 to 100000`},
		{"locals a string", "max-locals: many", `max-locals: "many" is not an integer`},
		{"stack below 64KiB", "max-stack-size: 63KiB", `max-stack-size: "63KiB" is not a size from 64KiB to 256MiB`},
		{"table too large", "max-table-elements: 10000001", `max-table-elements: 10000001 is not an integer from 1 to 10000000`},
		{"compile timeout over 10m", "compile-timeout: 11m", `compile-timeout: "11m" is more than the limit of 10m0s`},
		{"unknown key", "max-modul-size: 1MiB", `max-modul-size: unknown key (did you mean max-module-size?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte("plugin-limits:\n  "+tt.yml+"\n"), "proctag.yaml")
			want := "proctag.yaml:2: plugin-limits." + tt.want
			if lines := strings.Split(strings.TrimSpace(errorLines(t, err)), "\n"); !slices.Contains(lines, want) {
				t.Errorf("errors:\n%s\nwant among them:\n%s", strings.Join(lines, "\n"), want)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "0 bytes"},
		{1, "1 byte"},
		{1000, "1000 bytes"},
		{1 << 10, "1KiB"},
		{1536, "1536 bytes"},
		{3 << 19, "1536KiB"},
		{32 << 20, "32MiB"},
		{4 << 30, "4GiB"},
	}
	for _, tt := range tests {
		if got := formatSize(tt.n); got != tt.want {
			t.Errorf("formatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestAgentGCPercent(t *testing.T) {
	testTopKey(t, func(c *Config) int { return c.AgentGCPercent }, []keyCase[int]{
		{yml: "", want: DefaultAgentGCPercent},
		{yml: "agent-gc-percent: 10", want: 10},
		{yml: "agent-gc-percent: 1000", want: 1000},
		{yml: "agent-gc-percent: 9", wantErr: `proctag.yaml:1: agent-gc-percent: 9 is not an integer from 10 to 1000`},
		{yml: "agent-gc-percent: off", wantErr: `proctag.yaml:1: agent-gc-percent: "off" is not an integer`},
	})
}

func TestAgentMemoryLimit(t *testing.T) {
	testTopKey(t, func(c *Config) int64 { return c.AgentMemoryLimit }, []keyCase[int64]{
		{yml: "", want: DefaultAgentMemoryLimit},
		{yml: "agent-memory-limit: 0", want: 0},
		{yml: "agent-memory-limit: 16MiB", want: 16 << 20},
		{yml: "agent-memory-limit: 1024GiB", want: 1 << 40},
		{yml: "agent-memory-limit: 300000000", want: 300000000},
		{yml: "agent-memory-limit: 15MiB", wantErr: `proctag.yaml:1: agent-memory-limit: "15MiB" is not 0 (no limit) or a size from 16MiB to 1024GiB`},
		{yml: "agent-memory-limit: 1025GiB", wantErr: `proctag.yaml:1: agent-memory-limit: "1025GiB" is not 0 (no limit) or a size from 16MiB to 1024GiB`},
		{yml: "agent-memory-limit: 128MB", wantErr: `proctag.yaml:1: agent-memory-limit: "128MB" is not a size like "64MiB", "512KiB", "1GiB" or a number of bytes`},
	})
}

// keyCase is a config of one line and the value it sets, or the error it
// gets among others.
type keyCase[T comparable] struct {
	yml     string
	want    T
	wantErr string
}

// testTopKey parses each case's config and checks what get reads from it.
func testTopKey[T comparable](t *testing.T, get func(*Config) T, tests []keyCase[T]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.yml, func(t *testing.T) {
			cfg, _, err := Parse([]byte(tt.yml+"\n"), "proctag.yaml")
			if tt.wantErr != "" {
				if lines := strings.Split(strings.TrimSpace(errorLines(t, err)), "\n"); !slices.Contains(lines, tt.wantErr) {
					t.Errorf("errors:\n%s\nwant among them:\n%s", strings.Join(lines, "\n"), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := get(cfg); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
