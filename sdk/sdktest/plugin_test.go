package sdktest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proctag/proctag/abi"
)

// wat compiles a module body in WebAssembly text with wat2wasm (Debian
// package wabt, installed by `make deps`).
func wat(t *testing.T, body string) []byte {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm is not installed: run `make deps` or `apt-get install -y wabt`")
	}
	dir := t.TempDir()
	src, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(src, []byte("(module (memory (export \"memory\") 1)\n"+body+")"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("wat2wasm", src, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// Exports of a well-behaved module, to combine with the broken ones.
const (
	version  = `(func (export "proctag_abi_version") (result i32) (i32.const 0x00010000))`
	alloc    = `(func (export "proctag_alloc") (param i32) (result i32) (i32.const 1024))`
	initOK   = `(func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))`
	process0 = `(func (export "proctag_process") (param i32 i32) (result i64) (i64.const 0))`
)

func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"another major", `(func (export "proctag_abi_version") (result i32) (i32.const 0x00020001))` + alloc + initOK + process0,
			"module implements ABI 2.1, this host 1.0"},
		{"no version export", alloc + initOK + process0, "export proctag_abi_version is missing"},
		{"no process export", version + alloc + initOK, "export proctag_process is missing"},
		{"init fails", version + alloc + process0 + `(func (export "proctag_init") (param i32 i32) (result i32) (i32.const 7))`,
			"proctag_init returned 7"},
		{"init traps", version + alloc + process0 + `(func (export "proctag_init") (param i32 i32) (result i32) unreachable)`,
			"unreachable"},
		{"alloc returns nothing usable", version + initOK + process0 + `(func (export "proctag_alloc") (param i32) (result i32) (i32.const 0))`,
			"proctag_alloc(0) returned 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(t.Context(), wat(t, tt.body), nil)
			if p != nil {
				defer p.Close(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestProcessOutputs(t *testing.T) {
	tests := []struct {
		name     string
		process  string
		wantCode int64
		wantErr  string
	}{
		{"bad input code", `(i64.const -1)`, abi.CodeBadInput, ""},
		{"internal code", `(i64.const -2)`, abi.CodeInternal, ""},
		{"output outside memory", `(i64.const 0x0000fff000000100)`, 0, "outside guest memory"},
		{"output that does not decode", `(i64.const 0x0000000800000002)`, 0, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Bytes at 8: 01 09 = a rename field claiming 9 bytes, cut short.
			body := version + alloc + initOK + `(data (i32.const 8) "\01\09")` +
				`(func (export "proctag_process") (param i32 i32) (result i64) ` + tt.process + `)`
			p, err := Load(t.Context(), wat(t, body), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			_, err = p.Process(t.Context(), &abi.Record{PID: 1}, abi.FieldPID)
			if tt.wantCode != 0 {
				ce, ok := errors.AsType[*CodeError](err)
				if !ok || ce.Code != tt.wantCode {
					t.Errorf("Process error = %v, want code %d", err, tt.wantCode)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Process error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestBatchMissing(t *testing.T) {
	p, err := Load(t.Context(), wat(t, version+alloc+initOK+process0), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if p.HasBatch() {
		t.Error("HasBatch() = true for a module without the export")
	}
	if _, err := p.ProcessBatch(t.Context(), []abi.Record{{}}, abi.FieldPID); err == nil || !strings.Contains(err.Error(), "proctag_process_batch is missing") {
		t.Errorf("ProcessBatch error = %v, want the missing export named", err)
	}
}
