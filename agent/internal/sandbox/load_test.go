package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// handSpec returns a grant for the hand-written module NAME of testdata,
// with prefix "hand." and a 1 MiB memory limit.
func handSpec(name string, mods ...func(*Spec)) Spec {
	p := Spec{Name: name, Path: modulePath(name), Capabilities: []string{"tag"}, TagPrefix: "hand.", MemoryLimitBytes: 1 << 20}
	for _, m := range mods {
		m(&p)
	}
	return p
}

func TestCheckRefusesBrokenModules(t *testing.T) {
	handSum := sha256.Sum256(handModules["hand"]())
	tests := []struct {
		name string
		spec Spec
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
		{"sha256 pin mismatch", handSpec("hand", func(p *Spec) { p.SHA256 = strings.Repeat("ab", 32) }), FaultLoad,
			[]string{"sha256 is " + hex.EncodeToString(handSum[:]), "the pin is abab"}},
		{"missing file", handSpec("hand", func(p *Spec) { p.Path = "testdata/modules/nope.wasm" }), FaultLoad, []string{"read module:", "no such file"}},
		{"tag without prefix", handSpec("hand", func(p *Spec) { p.TagPrefix = "" }), FaultLoad, []string{"tag-prefix is required"}},
		{"unknown field", handSpec("hand", func(p *Spec) { p.Fields = []string{"pid", "secrets"} }), FaultLoad, []string{`record field "secrets"`}},
		{"init returns non-zero", behave("initfail", func(p *Spec) { p.Config = []byte("fail-init") }), FaultInit, []string{"proctag_init returned 3"}},
		{"init traps", behave("inittrap", func(p *Spec) { p.Config = []byte("trap-init") }), FaultInit, []string{"proctag_init: wasm error: unreachable"}},
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
		spec Spec
	}{
		{"hand-written module without WASI", handSpec("hand")},
		{"newer minor version", handSpec("minor")},
		{"matching sha256 pin, upper case", handSpec("hand", func(p *Spec) { p.SHA256 = strings.ToUpper(hex.EncodeToString(sum[:])) })},
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
