package runner

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/sandbox"
	"github.com/proctag/proctag/agent/internal/sandbox/instrument"
)

// TestHostConfigMapsEveryField maps a parsed config with a plugin, a
// plugin-dir, a tenant and plugin-limits, and checks every field of the
// step's and the sandbox's specs.
func TestHostConfigMapsEveryField(t *testing.T) {
	dir := t.TempDir()
	yaml := `plugins:
  - name: namer
    path: namer.wasm
    sha256: ` + strings.Repeat("ab", 32) + `
    config: "k=v"
    capabilities: [rename, tag]
    tag-prefix: "acme."
    fields: [pid, cmdline]
    scope: {uids: [0, 1000], match-regex: "^java", match-type: cmdline}
    timeout: 250ms
    init-timeout: 2s
    tick-budget: 3s
    memory-limit: 32MiB
    instances: 3
plugin-dir: ` + filepath.Join(dir, "drop") + `
tenants:
  - name: team
    plugin-dir: ` + filepath.Join(dir, "team") + `
    uids: [1000]
    tag-prefix: "team."
    max-plugins: 4
plugin-limits:
  max-nesting: 77
  compile-timeout: 7s
`
	cfg, _, err := config.Parse([]byte(yaml), filepath.Join(dir, "proctag.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	hc := hostConfig(cfg)
	if len(hc.Plugins) != 1 {
		t.Fatalf("%d plugins, want 1", len(hc.Plugins))
	}
	p := hc.Plugins[0]
	want := sandbox.Spec{
		Name: "namer", Path: filepath.Join(dir, "namer.wasm"), SHA256: strings.Repeat("ab", 32), Config: []byte("k=v"),
		Capabilities: []string{"rename", "tag"}, TagPrefix: "acme.", Fields: []string{"pid", "cmdline"},
		Scope:   sandbox.Scope{UIDs: []int{0, 1000}, MatchRegex: "^java", MatchType: "cmdline"},
		Timeout: 250 * time.Millisecond, InitTimeout: 2 * time.Second, MemoryLimitBytes: 32 << 20, Instances: 3,
	}
	if !reflect.DeepEqual(p.Spec, want) || p.TickBudget != 3*time.Second {
		t.Errorf("plugin spec\n%+v, tick budget %v\nwant\n%+v, 3s", p.Spec, p.TickBudget, want)
	}
	if hc.PluginDir != cfg.PluginDir || hc.ParseManifest == nil {
		t.Errorf("plugin-dir %q, parser set %v", hc.PluginDir, hc.ParseManifest != nil)
	}
	l := cfg.PluginLimits
	if hc.Limits.MaxNesting != 77 || hc.Limits.CompileTimeout != 7*time.Second || hc.Limits.MaxModuleBytes != l.MaxModuleBytes ||
		hc.Limits.MaxStackBytes != l.MaxStackBytes || hc.Limits.MaxTableElements != l.MaxTableElements {
		t.Errorf("limits %+v, from %+v", hc.Limits, l)
	}
	if len(hc.Tenants) != 1 {
		t.Fatalf("%d tenants, want 1", len(hc.Tenants))
	}
	tn := hc.Tenants[0]
	if tn.Name != "team" || tn.PluginDir != filepath.Join(dir, "team") || !reflect.DeepEqual(tn.UIDs, []int{1000}) ||
		tn.MaxPlugins != 4 || tn.MaxModuleBytes != cfg.Tenants[0].MaxModuleBytes || tn.ParseManifest == nil {
		t.Errorf("tenant %+v", tn)
	}
	// The tenant's parser keeps its ceiling: no more than its uids.
	if _, err := tn.ParseManifest(filepath.Join(dir, "team", "x.yaml"), []byte("scope: {uids: [0]}\n")); err == nil {
		t.Error("a tenant manifest asking for uid 0 was accepted")
	}
	got, err := tn.ParseManifest(filepath.Join(dir, "team", "x.yaml"), nil)
	if err != nil || !reflect.DeepEqual(got.Scope.UIDs, []int{1000}) || !strings.HasPrefix(got.TagPrefix, "team.") {
		t.Errorf("tenant default = %+v, %v; want the tenant's uids and prefix", got, err)
	}
}

// TestParseManifestDefaults: an operator's drop-in without a manifest gets
// the config's defaults and tag-prefix NAME., every limit set, so that no
// sandbox fallback applies in the agent.
func TestParseManifestDefaults(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tagger.yaml")
	p, err := parseManifest(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.TagPrefix != "tagger." || p.Timeout <= 0 || p.InitTimeout <= 0 || p.MemoryLimitBytes == 0 || p.Instances <= 0 || p.TickBudget <= 0 {
		t.Errorf("defaults %+v", p)
	}
	if _, err := parseManifest(file, []byte("capabilities: [exec]\n")); err == nil {
		t.Error("a bad manifest was accepted")
	}
	if p, err := parseManifest(file, []byte("tag-prefix: x.\n")); err != nil || p.TagPrefix != "x." {
		t.Errorf("manifest = %+v, %v", p, err)
	}
}

// TestSandboxLimitsDefaults: the default plugin-limits map to a sandbox
// Limits with every field set, and equal the sandbox's fallbacks for a
// zero field (instrument.DefaultLimits and Limits.ModuleBytes), so that a
// caller leaving a limit out gets what the configuration documents.
func TestSandboxLimitsDefaults(t *testing.T) {
	l := SandboxLimits(config.DefaultPluginLimits())
	v := reflect.ValueOf(l)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("%s is zero", v.Type().Field(i).Name)
		}
	}
	d := instrument.DefaultLimits()
	got := instrument.Limits{
		MaxFunctions: l.MaxFunctions, MaxFunctionBytes: int(l.MaxFunctionBytes), MaxNesting: l.MaxNesting,
		MaxLocals: l.MaxLocals, MaxFunctionCost: l.MaxFunctionCost, MaxModuleCost: l.MaxModuleCost,
		MaxTableElements: uint32(l.MaxTableElements), MaxStackBytes: uint32(l.MaxStackBytes),
	}
	if got != d {
		t.Errorf("plugin-limits defaults %+v, the rewriter's fallbacks %+v", got, d)
	}
	if fb := (sandbox.Limits{}).ModuleBytes(); fb != l.MaxModuleBytes {
		t.Errorf("max-module-size default %d, the sandbox's fallback %d", l.MaxModuleBytes, fb)
	}
}

// TestParseManifestDefaultFields checks which operator drop-ins are marked
// as reading only the default fields: those whose manifest lists none, or
// that have no manifest.
func TestParseManifestDefaultFields(t *testing.T) {
	tests := []struct {
		name     string
		manifest []byte
		want     bool
	}{
		{"no manifest", nil, true},
		{"manifest without fields", []byte("tag-prefix: x.\n"), true},
		{"manifest with fields", []byte("tag-prefix: x.\nfields: [pid, cmdline]\n"), false},
	}
	for _, tt := range tests {
		spec, err := parseManifest(filepath.Join(t.TempDir(), "x.yaml"), tt.manifest)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if spec.DefaultFields != tt.want {
			t.Errorf("%s: DefaultFields %v, want %v", tt.name, spec.DefaultFields, tt.want)
		}
	}
}
