package instrument

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// loopModule exports:
//
//	spin()          loop br 0 end
//	sum(n) i32      n + (n-1) + ... + 1, in a loop
//	nested()        loops inside blocks inside loops, the innermost forever
//	deep()          a chain of 40 calls ending in spin
func loopModule() []byte {
	const chain = 40
	types := sec(secType, vec([]byte{0x60, 0x00, 0x00}, []byte{0x60, 0x01, 0x7f, 0x01, 0x7f}))
	decls := [][]byte{{0x00}, {0x01}, {0x00}}
	codes := [][]byte{
		body(0x03, 0x40, 0x0c, 0x00, 0x0b),
		func() []byte { // one i32 local: acc
			code := []byte{0x01, 0x01, 0x7f,
				0x03, 0x40,
				0x20, 0x01, 0x20, 0x00, 0x6a, 0x21, 0x01, // acc += n
				0x20, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00, // n -= 1
				0x0d, 0x00, // br_if 0
				0x0b,
				0x20, 0x01, 0x0b}
			return cat(appendU32(nil, uint32(len(code))), code)
		}(),
		body(0x02, 0x40, 0x03, 0x40, 0x02, 0x40, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, 0x0c, 0x00, 0x0b, 0x0b),
	}
	for i := range chain {
		decls = append(decls, []byte{0x00})
		next := byte(3 + i + 1)
		if i == chain-1 {
			next = 0
		}
		codes = append(codes, body(0x10, next))
	}
	exports := sec(secExport, vec(funcExport("spin", 0), funcExport("sum", 1), funcExport("nested", 2), funcExport("deep", 3)))
	return module(types, sec(secFunction, vec(decls...)), mem1, exports, sec(secCode, vec(codes...)))
}

// newRuntime is a compiler runtime without termination checks: only the
// stop global can end a loop.
func newRuntime(t *testing.T) wazero.Runtime {
	t.Helper()
	rt := wazero.NewRuntimeWithConfig(t.Context(), wazero.NewRuntimeConfigCompiler())
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	return rt
}

func instantiate(t *testing.T, rt wazero.Runtime, wasm []byte) api.Module {
	t.Helper()
	mod, err := rt.InstantiateWithConfig(t.Context(), wasm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return mod
}

func TestInstrumentedLoopsStop(t *testing.T) {
	orig := loopModule()
	res, err := Module(orig, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if res.Loops != 4 {
		t.Errorf("loops = %d, want 4", res.Loops)
	}
	wasm := res.Wasm
	rt := newRuntime(t)
	t.Run("a finishing loop computes the same", func(t *testing.T) {
		for _, m := range []api.Module{instantiate(t, rt, orig), instantiate(t, rt, wasm)} {
			got, err := m.ExportedFunction("sum").Call(t.Context(), 1000)
			if err != nil || len(got) != 1 || got[0] != 500500 {
				t.Errorf("sum(1000) = %v, %v; want 500500", got, err)
			}
		}
	})
	for _, fn := range []string{"spin", "nested", "deep"} {
		t.Run(fn+" is stopped by the global", func(t *testing.T) {
			m := instantiate(t, rt, wasm)
			stop, ok := m.ExportedGlobal(StopExport).(api.MutableGlobal)
			if !ok {
				t.Fatalf("export %s is not a mutable global", StopExport)
			}
			if stop.Type() != api.ValueTypeI32 || stop.Get() != 0 {
				t.Fatalf("stop global is %s = %d, want i32 = 0", api.ValueTypeName(stop.Type()), stop.Get())
			}
			// Garbage collections while the guest spins: each must wait
			// for the guest's next exit to the host, then let the timer run.
			done := make(chan struct{})
			defer close(done)
			go func() {
				for {
					select {
					case <-done:
						return
					default:
						runtime.GC()
					}
				}
			}()
			timer := time.AfterFunc(20*time.Millisecond, func() { stop.Set(1) })
			defer timer.Stop()
			_, err := m.ExportedFunction(fn).Call(t.Context())
			if err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("%s() = %v, want an unreachable trap", fn, err)
			}
		})
	}
}

// realModules are the repository's modules: the wasmhost test modules, the
// example plugins' builds when present, and sdk/template built here.
func realModules(t *testing.T) map[string][]byte {
	t.Helper()
	paths, _ := filepath.Glob("../testdata/modules/*.wasm")
	dist, _ := filepath.Glob("../../../../plugins/dist/*.wasm")
	paths = append(paths, dist...)
	tmpl := filepath.Join(t.TempDir(), "template.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", tmpl, "../../../../sdk/template")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build sdk/template: %v\n%s", err, out)
	}
	paths = append(paths, tmpl)
	mods := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		mods[filepath.Base(p)] = b
	}
	return mods
}

func TestRealModules(t *testing.T) {
	for file, orig := range realModules(t) {
		t.Run(file, func(t *testing.T) {
			rt := newRuntime(t)
			if _, err := rt.CompileModule(t.Context(), orig); err != nil {
				if _, ierr := Module(orig, DefaultLimits()); ierr == nil {
					t.Logf("wazero refuses it (%v) and Module does not: fine, wazero validates", err)
				}
				return
			}
			res, err := Module(orig, DefaultLimits())
			if err != nil {
				t.Fatalf("Module: %v", err)
			}
			wasm := res.Wasm
			compiled, err := rt.CompileModule(t.Context(), wasm)
			if err != nil {
				t.Fatalf("wazero compiles the module but not its instrumented copy: %v", err)
			}
			if _, ok := compiled.ExportedFunctions()["proctag_abi_version"]; !ok {
				return
			}
			want, _, werr := abiVersion(t, orig)
			got, m, err := abiVersion(t, wasm)
			if werr != nil {
				if err == nil {
					t.Fatalf("the original fails to start (%v), the instrumented copy starts", werr)
				}
				return
			}
			if err != nil {
				t.Fatalf("the instrumented copy fails to start: %v", err)
			}
			if got != want {
				t.Errorf("instrumented proctag_abi_version = %#x, the original's %#x", got, want)
			}
			if _, ok := m.ExportedGlobal(StopExport).(api.MutableGlobal); !ok {
				t.Errorf("instrumented module has no mutable export %s", StopExport)
			}
		})
	}
}

// abiVersion instantiates a plugin as the host would (WASI, a proctag_v1.log
// that discards), calls proctag_abi_version and returns its result and the
// instance, or why the module did not start.
func abiVersion(t *testing.T, wasm []byte) (uint64, api.Module, error) {
	t.Helper()
	rt := newRuntime(t)
	wasi_snapshot_preview1.MustInstantiate(t.Context(), rt)
	_, err := rt.NewHostModuleBuilder("proctag_v1").NewFunctionBuilder().
		WithFunc(func(context.Context, uint32, uint32, uint32) {}).Export("log").Instantiate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := rt.CompileModule(t.Context(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	cfg := wazero.NewModuleConfig().WithName("")
	if _, ok := compiled.ExportedFunctions()["_initialize"]; ok {
		cfg = cfg.WithStartFunctions("_initialize")
	}
	m, err := rt.InstantiateModule(t.Context(), compiled, cfg)
	if err != nil {
		return 0, nil, err
	}
	got, err := m.ExportedFunction("proctag_abi_version").Call(t.Context())
	if err != nil {
		return 0, nil, err
	}
	return got[0], m, nil
}
