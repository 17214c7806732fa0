package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkErrors asserts the error contract of Parse and ParsePluginManifest:
// every problem is an *Error naming the file and a line.
func checkErrors(t *testing.T, err error, file string) {
	t.Helper()
	for _, e := range unjoin(err) {
		ce, ok := errors.AsType[*Error](e)
		if !ok {
			t.Fatalf("error %v is a %T, not a *config.Error", e, e)
		}
		if ce.Line < 1 || ce.File != file || ce.Msg == "" {
			t.Fatalf("error %q lacks a line, the file or a message", ce)
		}
	}
}

// checkPlugin asserts the limits every accepted plugin keeps.
func checkPlugin(t *testing.T, p Plugin) {
	t.Helper()
	if p.Name == "" || p.Path == "" || p.Timeout <= 0 || p.Timeout > 10*time.Second ||
		p.InitTimeout <= 0 || p.InitTimeout > maxInitTimeout || p.TickBudget <= 0 || p.TickBudget > maxTickBudget ||
		p.MemoryLimitBytes == 0 || p.MemoryLimitBytes%wasmPageBytes != 0 || p.MemoryLimitBytes > maxPluginMemory ||
		p.Instances < 1 || p.Instances > maxPluginInstances || p.Line < 1 {
		t.Fatalf("accepted plugin breaks a limit: %+v", p)
	}
}

func FuzzParse(f *testing.F) {
	// Every example and bad config in testdata/config: valid files, and
	// files with each kind of error, so mutations start from real shapes.
	files, _ := filepath.Glob(filepath.Join(repoRoot, "testdata/config/*.yaml"))
	bad, _ := filepath.Glob(filepath.Join(repoRoot, "testdata/config/bad/*.yaml"))
	for _, path := range append(files, bad...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Empty input: an empty document is the default config.
	f.Add([]byte(""))
	// Aliases reused across keys, which the walker follows.
	f.Add([]byte("a: &v 5\nos-proc-socket-sync-interval: *v\n"))
	// A merge key, refused with a line.
	f.Add([]byte("x: &m {log-level: info}\n<<: *m\n"))
	// Parser error on the first line (yaml.v3 gives no line for it).
	f.Add([]byte("[}"))
	// Deep nesting inside a plugin config, encoded as JSON.
	f.Add([]byte("plugins: [{name: p, path: p, tag-prefix: p, config: [[[{a: [.inf]}]]]}]"))
	// DeepFlow agent-group keys (ignored with a warning) beside a near miss
	// of one and an anchor shared with an os-proc key.
	f.Add([]byte("vtap_group_id: g-1\nmax_memroy: 768\nmax_cpus: &n 2\nos-proc-socket-min-lifetime: *n\n"))
	// Non-string keys and a second document.
	f.Add([]byte("1: 2\n? [a]\n: b\n---\nc: d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, warns, err := Parse(data, "fuzz.yaml")
		for i, w := range warns {
			if w.Line < 1 || w.File != "fuzz.yaml" || w.Msg == "" || i > 0 && w.Line < warns[i-1].Line {
				t.Fatalf("warning %d without position or out of line order: %v", i, warns)
			}
		}
		if err != nil {
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			checkErrors(t, err, "fuzz.yaml")
			return
		}
		if cfg.SyncInterval < time.Second || cfg.MinLifetime < 0 || cfg.TagExecTimeout <= 0 ||
			cfg.FullRescanEvery < 1 || cfg.EventsFullRescanEvery < 1 || cfg.NATS.FullEvery < 1 || cfg.ProcRoot == "" || cfg.TagExecUser == "" {
			t.Fatalf("accepted config breaks a limit: %+v", cfg)
		}
		names := map[string]bool{}
		for _, p := range cfg.Plugins {
			checkPlugin(t, p)
			if names[p.Name] {
				t.Fatalf("plugin name %q accepted twice", p.Name)
			}
			names[p.Name] = true
		}
		for _, r := range cfg.Rules {
			if r.Line < 1 || r.File != "fuzz.yaml" {
				t.Fatalf("rule without position: %+v", r)
			}
		}
		l := cfg.PluginLimits
		if l.MaxModuleBytes < minModuleBytes || l.MaxModuleBytes > maxModuleBytes || l.MaxFunctions < 1 || l.MaxFunctionBytes < 1 ||
			l.MaxNesting < 1 || l.MaxLocals < 1 || l.MaxStackBytes < minStackBytes || l.MaxTableElements < 1 ||
			l.CompileTimeout <= 0 || l.CompileTimeout > maxCompileTimeout {
			t.Fatalf("accepted plugin limits break a limit: %+v", l)
		}
		tenants := map[string]bool{}
		for _, tn := range cfg.Tenants {
			checkTenant(t, tn, l.MaxModuleBytes)
			if tenants[tn.Name] {
				t.Fatalf("tenant name %q accepted twice", tn.Name)
			}
			tenants[tn.Name] = true
		}
	})
}

// checkTenant asserts the limits every accepted tenant keeps.
func checkTenant(t *testing.T, tn Tenant, maxModule int64) {
	t.Helper()
	c := tn.ceiling()
	c.Name, c.Path, c.Line = "x", "x.wasm", 1
	checkPlugin(t, c)
	if tn.Name == "" || tn.PluginDir == "" || len(tn.UIDs) == 0 || !validTagPrefix(tn.TagPrefix) ||
		tn.MaxPlugins < 1 || tn.MaxPlugins > maxTenantPlugins || tn.MaxModuleBytes < minModuleBytes || tn.MaxModuleBytes > maxModule {
		t.Fatalf("accepted tenant breaks a limit: %+v", tn)
	}
}

func FuzzParsePluginManifest(f *testing.F) {
	// A complete manifest.
	f.Add([]byte("capabilities: [tag, rename]\ntag-prefix: x.\nmemory-limit: 1MiB\ntimeout: 50ms\nscope: {uids: [0], match-regex: ^x$}\n"))
	// An empty manifest (default grant needs a tag prefix).
	f.Add([]byte(""))
	// Config as a string and as a mapping.
	f.Add([]byte("tag-prefix: a\nconfig: 'k: v'\n"))
	f.Add([]byte("tag-prefix: a\nconfig: {k: [1, 2.5, true]}\n"))
	// Wrong types everywhere.
	f.Add([]byte("name: 1\npath: []\ninstances: x\nfields: env\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePluginManifest(data, "/p.d/fuzz.yaml")
		if err != nil {
			checkErrors(t, err, "/p.d/fuzz.yaml")
			return
		}
		checkPlugin(t, p)
		if p.Name != "fuzz" {
			t.Fatalf("manifest name %q, want the file's", p.Name)
		}
	})
}

func FuzzParseTenantManifest(f *testing.F) {
	// A manifest within the ceiling.
	f.Add([]byte("capabilities: [tag]\ntag-prefix: payments.x.\nmemory-limit: 1MiB\ntimeout: 10ms\nscope: {uids: [1001]}\n"))
	// Every ceiling exceeded.
	f.Add([]byte("capabilities: [drop]\nfields: [env]\ntag-prefix: other.\nmemory-limit: 1GiB\ninstances: 9\ntick-budget: 1m\nscope: {uids: [0]}\n"))
	// Any uid, and a path leaving the directory.
	f.Add([]byte("scope: {uids: []}\npath: ../x.wasm\n"))
	// No manifest.
	f.Add([]byte(nil))
	// Keys twice, nulls and aliases.
	f.Add([]byte("a: &u [1001]\nscope: {uids: *u}\nscope: {uids: [0]}\nfields:\n"))
	ten := Tenant{
		Name: "payments", PluginDir: "/srv/payments", UIDs: []int{1001, 1002}, TagPrefix: "payments.",
		Capabilities: []string{"tag", "rename"}, Fields: []string{"pid", "name", "cmdline"},
		MemoryLimitBytes: 32 << 20, Timeout: 50 * time.Millisecond, InitTimeout: time.Second, TickBudget: 2 * time.Second,
		Instances: 2, MaxPlugins: 4, MaxModuleBytes: 8 << 20,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseTenantManifest(ten, data, "/srv/payments/fuzz.yaml")
		if err != nil {
			checkErrors(t, err, "/srv/payments/fuzz.yaml")
			return
		}
		checkPlugin(t, p)
		if p.Name != "fuzz" || p.Tenant != "payments" || !strings.HasPrefix(p.TagPrefix, ten.TagPrefix) || len(p.Scope.UIDs) == 0 ||
			!strings.HasPrefix(p.Path, "/srv/payments/") {
			t.Fatalf("accepted plugin leaves the tenant: %+v", p)
		}
		for _, uid := range p.Scope.UIDs {
			if !slices.Contains(ten.UIDs, uid) {
				t.Fatalf("uid %d is not the tenant's: %+v", uid, p)
			}
		}
		for _, c := range p.Capabilities {
			if !slices.Contains(ten.Capabilities, c) {
				t.Fatalf("capability %q is not the tenant's: %+v", c, p)
			}
		}
		for _, fl := range p.Fields {
			if !slices.Contains(ten.Fields, fl) {
				t.Fatalf("field %q is not the tenant's: %+v", fl, p)
			}
		}
		if p.MemoryLimitBytes > ten.MemoryLimitBytes || p.Timeout > ten.Timeout || p.InitTimeout > ten.InitTimeout ||
			p.TickBudget > ten.TickBudget || p.Instances > ten.Instances {
			t.Fatalf("accepted plugin over the tenant's ceiling: %+v", p)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	f.Add("64MiB")                 // the default
	f.Add("1 GiB")                 // space before the unit
	f.Add("18446744073709551615B") // max uint64
	f.Add("17179869184GiB")        // overflows on multiplication
	f.Add("-1KiB")                 // sign
	f.Add("MiB")                   // unit without a number
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		// A parsed size prints and parses back as plain bytes.
		back, err := parseSize(strconv.FormatUint(n, 10))
		if err != nil || back != n {
			t.Fatalf("parseSize(%q) = %d, but its decimal form gives %d, %v", s, n, back, err)
		}
	})
}

func BenchmarkParseFull(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "testdata/config/full.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(data, "full.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}
