package runner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/sandbox"
	"github.com/proctag/proctag/agent/internal/wasmhost"
)

// evilTagger is a module that sets team.evil=1 on every process it is
// given, whatever it was granted.
const evilTagger = `(module
  (memory (export "memory") 1)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (data (i32.const 1024) "\02\0e\01\09team.evil\02\011")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 16))))`

// assembleWat writes the wasm of text to out with wat2wasm.
func assembleWat(t *testing.T, text, out string) {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm is not installed: run `make deps` or `apt-get install -y wabt`")
	}
	src := filepath.Join(t.TempDir(), "m.wat")
	if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("wat2wasm", src, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
}

// TestTenantCeilingOfNoCapabilities is a tenant's attack on its operator's
// ceiling: the operator grants tenant team no capabilities at all
// (capabilities: []), and the tenant drops a module without a manifest
// into its directory that tags every process. An empty list must never
// turn into the default capability (tag): the module is refused, and no
// tag of it is applied.
func TestTenantCeilingOfNoCapabilities(t *testing.T) {
	dir := t.TempDir()
	team := filepath.Join(dir, "team")
	if err := os.Mkdir(team, 0o755); err != nil {
		t.Fatal(err)
	}
	assembleWat(t, evilTagger, filepath.Join(team, "x.wasm"))
	yml := "tenants:\n  - name: team\n    plugin-dir: " + team + "\n    uids: [1000]\n    tag-prefix: team.\n    capabilities: []\n"
	cfg, _, err := config.Parse([]byte(yml), filepath.Join(dir, "proctag.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := wasmhost.New(ctx, hostConfig(cfg), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	outs := h.Apply(ctx, []wasmhost.Input{{Key: wasmhost.Key{PID: 42, StartTicks: 7},
		Record: abi.Record{PID: 42, UID: 1000, Name: "app", ProcessName: "app"}}})
	if len(outs) != 1 {
		t.Fatalf("%d outputs for one input", len(outs))
	}
	for _, tg := range outs[0].Tags {
		t.Errorf("a tenant granted no capabilities applied tag %s=%s", tg.Key, tg.Value)
	}
	for _, e := range outs[0].Effects {
		if e.Called {
			t.Errorf("plugin %s was called although its tenant may do nothing", e.Plugin)
		}
	}
}

// TestTenantManifestOfNoFields checks that a manifest's fields: [] under
// a tenant's ceiling of [pid] grants no field, rather than the default
// fields (pid, name, process_name), which the ceiling withholds.
func TestTenantManifestOfNoFields(t *testing.T) {
	ten := config.Tenant{Name: "team", UIDs: []int{1000}, TagPrefix: "team.", Capabilities: []string{"tag"},
		Fields: []string{"pid"}, MemoryLimitBytes: 1 << 20, Instances: 1}
	p, err := config.ParseTenantManifest(ten, []byte("fields: []\n"), "/x/team/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec := SandboxSpec(p)
	spec.Path = filepath.Join(t.TempDir(), "x.wasm")
	assembleWat(t, evilTagger, spec.Path)
	pl, err := sandbox.LoadFile(context.Background(), "", spec, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close(context.Background())
	if f := pl.Fields(); f != 0 {
		t.Errorf("manifest fields [] under a ceiling of [pid]: granted %v, want none", f)
	}
}
