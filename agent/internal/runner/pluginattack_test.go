package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/sandbox"
	"github.com/proctag/proctag/agent/internal/sandbox/sandboxtest"
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
	sandboxtest.Wat(t, evilTagger, filepath.Join(team, "x.wasm"))
	out := applyConfig(t, dir, "tenants:\n  - name: team\n    plugin-dir: "+team+"\n    uids: [1000]\n    tag-prefix: team.\n    capabilities: []\n")
	for _, tg := range out.Tags {
		t.Errorf("a tenant granted no capabilities applied tag %s=%s", tg.Key, tg.Value)
	}
	for _, e := range out.Effects {
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
	sandboxtest.Wat(t, evilTagger, spec.Path)
	pl, err := sandbox.LoadFile(context.Background(), "", spec, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close(context.Background())
	if f := pl.Fields(); f != 0 {
		t.Errorf("manifest fields [] under a ceiling of [pid]: granted %v, want none", f)
	}
}

// TestFdWriteIovecBomb is a plugin's attack on its deadline through a host
// call: one fd_write to stdout of 20,000 iovecs that all point at the same
// 48 MiB of its memory. The host wrote them out (scanning for line ends)
// without returning to the guest, where the deadline is checked: about
// ten seconds for one call whose timeout is one. The output budget makes
// the write fail once it is spent, and the call ends in time.
func TestFdWriteIovecBomb(t *testing.T) {
	const iovecs = 20000
	text := fmt.Sprintf(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1024)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (local $i i32)
    (loop $fill
      (i32.store (i32.add (i32.const 0x100000) (i32.shl (local.get $i) (i32.const 3))) (i32.const 0))
      (i32.store (i32.add (i32.const 0x100004) (i32.shl (local.get $i) (i32.const 3))) (i32.const 0x3000000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const %d))))
    (drop (call $w (i32.const 1) (i32.const 0x100000) (i32.const %d) (i32.const 0x200000)))
    (i64.const 0)))`, iovecs, iovecs)
	if e := applyOnce(t, text); !e.Called || e.Err != nil {
		t.Errorf("the call was not made or failed (%v): its fd_write held it past its one-second deadline", e.Err)
	}
}

// TestRandomGetBomb is a plugin's attack on its deadline with calls to
// the host in straight-line code, where no loop checks the deadline: 40
// calls of random_get over 48 MiB of its memory, each tens of
// milliseconds or more. The host's random source has a budget, past which
// random_get fails at once, and the deadline is checked after every call
// to the host, so the call ends in time.
func TestRandomGetBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(`(module
  (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
  (memory (export "memory") 1024)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
`)
	for range 40 {
		b.WriteString("    (drop (call $r (i32.const 0) (i32.const 0x3000000)))\n")
	}
	b.WriteString("    (i64.const 0)))\n")
	if e := applyOnce(t, b.String()); !e.Called || e.Err != nil {
		t.Errorf("the call was not made or failed (%v): its random_get calls held it past its one-second deadline", e.Err)
	}
}

// applyOnce loads module text as an operator's plugin with a timeout of
// one second and runs it on one process; it returns the plugin's effect.
func applyOnce(t *testing.T, text string) wasmhost.Effect {
	t.Helper()
	dir := t.TempDir()
	wasm := filepath.Join(dir, "evil.wasm")
	sandboxtest.Wat(t, text, wasm)
	out := applyConfig(t, dir, "plugins:\n  - name: evil\n    path: "+wasm+"\n    tag-prefix: evil.\n    fields: [pid]\n    timeout: 1s\n    tick-budget: 2s\n")
	if len(out.Effects) != 1 {
		t.Fatalf("output %+v, want one effect of one plugin", out)
	}
	return out.Effects[0]
}

// applyConfig starts the plugin step of the config yml (its file in dir)
// as the agent does, and runs it on one process of uid 1000.
func applyConfig(t *testing.T, dir, yml string) wasmhost.Output {
	t.Helper()
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
	return outs[0]
}
