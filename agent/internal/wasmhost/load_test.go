package wasmhost

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/internal/config"
)

func handSpec(name string, mods ...func(*config.Plugin)) config.Plugin {
	p := config.Plugin{Name: name, Path: modulePath(name), Capabilities: []string{"tag"}, TagPrefix: "hand.", MemoryLimitBytes: 1 << 20}
	for _, m := range mods {
		m(&p)
	}
	return p
}

func TestCheckRefusesBrokenModules(t *testing.T) {
	handSum := sha256.Sum256(handModules["hand"]())
	tests := []struct {
		name string
		spec config.Plugin
		kind FaultKind
		want []string // substrings of the error
	}{
		{"corrupt bytes", handSpec("corrupt"), FaultLoad, []string{"plugin corrupt: load: not a valid WebAssembly module:"}},
		{"missing export", handSpec("missing_export"), FaultLoad, []string{"missing export proctag_process"}},
		{"wrong signature", handSpec("wrong_signature"), FaultLoad, []string{"export proctag_process has signature (i32, i32) -> (i32), want (i32, i32) -> (i64)"}},
		{"foreign import", handSpec("foreign_import"), FaultLoad, []string{"imports env.now: only proctag_v1 and wasi_snapshot_preview1 may be imported"}},
		{"log import with wrong signature", handSpec("bad_log_import"), FaultLoad, []string{"import proctag_v1.log has signature (i32) -> ()"}},
		{"host function v1.0 lacks", handSpec("unknown_host_import"), FaultLoad, []string{"imports proctag_v1.sleep, which ABI v1 does not provide"}},
		{"command module", handSpec("command"), FaultLoad, []string{"missing export proctag_abi_version", "exports _start", "-buildmode=c-shared"}},
		{"memory not exported", handSpec("no_memory"), FaultLoad, []string{"missing export memory"}},
		{"memory over the cap at start", handSpec("big_memory"), FaultLoad, []string{"memory starts at 13107200 bytes, over the memory-limit of 1048576 bytes"}},
		{"wrong ABI major", handSpec("wrong_major"), FaultLoad, []string{"reports ABI version 2.0, this host speaks 1.x"}},
		{"sha256 pin mismatch", handSpec("hand", func(p *config.Plugin) { p.SHA256 = strings.Repeat("ab", 32) }), FaultLoad,
			[]string{"sha256 is " + hex.EncodeToString(handSum[:]), "the pin is abab"}},
		{"missing file", handSpec("hand", func(p *config.Plugin) { p.Path = "testdata/modules/nope.wasm" }), FaultLoad, []string{"read module:", "no such file"}},
		{"tag without prefix", handSpec("hand", func(p *config.Plugin) { p.TagPrefix = "" }), FaultLoad, []string{"tag-prefix is required"}},
		{"unknown field", handSpec("hand", func(p *config.Plugin) { p.Fields = []string{"pid", "secrets"} }), FaultLoad, []string{`record field "secrets"`}},
		{"init returns non-zero", behave("initfail", func(p *config.Plugin) { p.Config = []byte("fail-init") }), FaultInit, []string{"proctag_init returned 3"}},
		{"init traps", behave("inittrap", func(p *config.Plugin) { p.Config = []byte("trap-init") }), FaultInit, []string{"proctag_init: wasm error: unreachable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(t.Context(), tt.spec, WithCacheDir(sharedCacheDir))
			if err == nil {
				t.Fatal("Check accepted the plugin")
			}
			if got := faultKind(err); got != tt.kind {
				t.Errorf("fault kind = %v, want %v (error %v)", got, tt.kind, err)
			}
			if !strings.HasPrefix(err.Error(), "plugin "+tt.spec.Name+": ") || !containsAll(err.Error(), tt.want...) {
				t.Errorf("error = %q, want the plugin name and %q", err, tt.want)
			}
		})
	}
}

func TestCheckAccepts(t *testing.T) {
	sum := sha256.Sum256(handModules["hand"]())
	tests := []struct {
		name string
		spec config.Plugin
	}{
		{"hand-written module without WASI", handSpec("hand")},
		{"newer minor version", handSpec("minor")},
		{"matching sha256 pin, upper case", handSpec("hand", func(p *config.Plugin) { p.SHA256 = strings.ToUpper(hex.EncodeToString(sum[:])) })},
		{"Go guest", behave("go")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check(t.Context(), tt.spec, WithCacheDir(sharedCacheDir)); err != nil {
				t.Fatalf("Check: %v", err)
			}
		})
	}
}

func TestNewSkipsBrokenPlugins(t *testing.T) {
	h, logs := newHost(t, Config{Plugins: []config.Plugin{handSpec("corrupt"), handSpec("hand")}})
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
	_, err := New(t.Context(), Config{Plugins: []config.Plugin{handSpec("hand"), handSpec("hand")}}, logger)
	if err == nil || !strings.Contains(err.Error(), "plugin hand: configured twice") {
		t.Fatalf("New = %v, want a duplicate name error", err)
	}
}

func TestCompilationCacheOnDisk(t *testing.T) {
	dir := t.TempDir()
	newHost(t, Config{CacheDir: dir, Plugins: []config.Plugin{handSpec("hand")}})
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("the compilation cache directory is empty after a load")
	}
}

func TestFaultErrors(t *testing.T) {
	f := &Fault{Plugin: "p", Kind: FaultTimeout, Err: errors.New("slow")}
	if f.Error() != "plugin p: timeout: slow" {
		t.Errorf("Fault.Error = %q", f.Error())
	}
	v := &Violation{Plugin: "p", Reason: "drop is not granted"}
	if !errors.Is(v, ErrNotGranted) || v.Error() != "plugin p: grant violation: drop is not granted" {
		t.Errorf("Violation = %q, Is(ErrNotGranted) = %v", v, errors.Is(v, ErrNotGranted))
	}
	if FaultKind(99).String() != "unknown" || FaultBadOutput.String() != "bad_output" {
		t.Error("FaultKind names")
	}
}
