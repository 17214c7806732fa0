package wasmhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/wasmhost/instrument"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

const (
	wasiModule = "wasi_snapshot_preview1"
	pageBytes  = 65536
)

// module is one plugin's compiled code in its own runtime: the runtime holds
// the host modules (WASI and proctag_v1.log) the instances link to. It is
// safe for concurrent instantiation.
type module struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	hasBatch bool
	// stop is how a call past its deadline is stopped: StopInline (the
	// instrumented module checks its stop global at every loop), StopContext
	// (wazero checks the context at every loop, slower) or StopNone
	// (benchmarks only). instrumentErr is why the module could not be
	// instrumented when stop is StopContext.
	stop          StopMode
	instrumentErr error
	// minMemoryBytes is what the module's memory starts at.
	minMemoryBytes uint64
	sha256         string
}

// funcSig is the signature an export or import must have.
type funcSig struct {
	params, results []api.ValueType
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64

	requiredExports = map[string]funcSig{
		abi.ExportABIVersion: {nil, []api.ValueType{i32}},
		abi.ExportAlloc:      {[]api.ValueType{i32}, []api.ValueType{i32}},
		abi.ExportInit:       {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
		abi.ExportProcess:    {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	}
	batchSig = funcSig{[]api.ValueType{i32, i32}, []api.ValueType{i64}}
	logSig   = funcSig{[]api.ValueType{i32, i32, i32}, nil}
)

func (s funcSig) String() string {
	names := func(ts []api.ValueType) string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = api.ValueTypeName(t)
		}
		return strings.Join(out, ", ")
	}
	return "(" + names(s.params) + ") -> (" + names(s.results) + ")"
}

func sigOf(d api.FunctionDefinition) funcSig {
	return funcSig{d.ParamTypes(), d.ResultTypes()}
}

func (s funcSig) equal(o funcSig) bool {
	return slices.Equal(s.params, o.params) && slices.Equal(s.results, o.results)
}

// checkPin compares the module's sha256 with the pin (hex, optionally
// "sha256:"-prefixed, any case); an empty pin accepts any module.
func checkPin(name string, wasm []byte, pin string) (string, error) {
	sum := sha256.Sum256(wasm)
	got := hex.EncodeToString(sum[:])
	want := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(pin)), "sha256:")
	if want != "" && want != got {
		return got, loadFault(name, "sha256 is %s, the pin is %s", got, want)
	}
	return got, nil
}

// compileModule verifies the pin (on wasm as read), compiles the module in a
// new runtime that uses cache (wazero keys it by the bytes compiled), and
// checks its imports and exports against ABI v1. The ABI version itself is
// checked when the first instance starts.
//
// With deadline a looping guest must be stoppable. The module is
// instrumented (package instrument) so that every loop checks a stop global
// the host sets when a call's deadline passes; a module the rewriter
// refuses, or whose rewrite wazero does not compile, is compiled as it is
// with wazero's close-on-context-done instead, which costs 35–43 ns per
// loop iteration (see overhead_bench_test.go).
func compileModule(ctx context.Context, name string, wasm []byte, pin string, cache wazero.CompilationCache, memoryLimitBytes uint64, glog *guestLog, deadline bool) (*module, error) {
	sum, err := checkPin(name, wasm, pin)
	if err != nil {
		return nil, err
	}
	if !deadline {
		return newModule(ctx, name, wasm, sum, StopNone, cache, memoryLimitBytes, glog)
	}
	inlined, _, ierr := instrument.Module(wasm)
	if ierr == nil {
		m, err := newModule(ctx, name, inlined, sum, StopInline, cache, memoryLimitBytes, glog)
		if !errors.Is(err, errCompile) {
			return m, err
		}
		ierr = fmt.Errorf("compile the instrumented module: %w", err)
	}
	m, err := newModule(ctx, name, wasm, sum, StopContext, cache, memoryLimitBytes, glog)
	if err != nil {
		return nil, err
	}
	m.instrumentErr = ierr
	return m, nil
}

// errCompile marks a load fault raised by wazero's compiler.
var errCompile = errors.New("compile")

// newModule compiles wasm in a runtime of its own, set up for stop.
func newModule(ctx context.Context, name string, wasm []byte, sum string, stop StopMode, cache wazero.CompilationCache, memoryLimitBytes uint64, glog *guestLog) (*module, error) {
	cfg := wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(stop == StopContext)
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	m := &module{rt: rt, sha256: sum, stop: stop}
	if err := m.setup(ctx, name, wasm, memoryLimitBytes, glog); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (m *module) setup(ctx context.Context, name string, wasm []byte, memoryLimitBytes uint64, glog *guestLog) error {
	compiled, err := m.rt.CompileModule(ctx, wasm)
	if err != nil {
		return loadFault(name, "%w: %w", errCompile, err)
	}
	m.compiled = compiled
	if err := m.checkShape(name, memoryLimitBytes); err != nil {
		return err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
		return fmt.Errorf("plugin %s: instantiate wasi: %w", name, err)
	}
	logFn := api.GoModuleFunc(func(_ context.Context, mod api.Module, stack []uint64) {
		level, ptr, n := abi.LogLevel(int32(stack[0])), uint32(stack[1]), uint32(stack[2])
		n = min(n, abi.MaxLogBytes)
		text, ok := mod.Memory().Read(ptr, n)
		if !ok {
			// wazero turns a host function's panic into the call's error:
			// the instance is discarded, as for any bad pointer.
			panic(fmt.Errorf("%w: log text [%#x, +%d) is outside memory", errOutput, ptr, n))
		}
		glog.hostLog(level, text) // emit copies the bytes
	})
	_, err = m.rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().WithGoModuleFunction(logFn, logSig.params, logSig.results).
		WithParameterNames("level", "ptr", "len").Export(abi.ImportLog).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("plugin %s: instantiate %s: %w", name, abi.ImportModule, err)
	}
	return nil
}

// checkShape refuses a module whose imports or exports do not match ABI v1.
func (m *module) checkShape(name string, memoryLimitBytes uint64) error {
	c := m.compiled
	for _, d := range c.ImportedFunctions() {
		mod, fn, _ := d.Import()
		switch {
		case mod == abi.ImportModule && fn == abi.ImportLog:
			if !sigOf(d).equal(logSig) {
				return loadFault(name, "import %s.%s has signature %s, want %s", mod, fn, sigOf(d), logSig)
			}
		case mod == abi.ImportModule:
			return loadFault(name, "imports %s.%s, which ABI v%d does not provide", mod, fn, abi.Major)
		case mod != wasiModule:
			return loadFault(name, "imports %s.%s: only %s and %s may be imported", mod, fn, abi.ImportModule, wasiModule)
		}
	}
	if mems := c.ImportedMemories(); len(mems) > 0 {
		mod, fn, _ := mems[0].Import()
		return loadFault(name, "imports memory %s.%s: a plugin must define its own memory", mod, fn)
	}
	exports := c.ExportedFunctions()
	for _, fn := range slices.Sorted(maps.Keys(requiredExports)) {
		d, ok := exports[fn]
		if !ok {
			hint := ""
			if _, cmd := exports["_start"]; cmd {
				hint = " (it exports _start: a command module; build a reactor with -buildmode=c-shared)"
			}
			return loadFault(name, "missing export %s%s", fn, hint)
		}
		if want := requiredExports[fn]; !sigOf(d).equal(want) {
			return loadFault(name, "export %s has signature %s, want %s", fn, sigOf(d), want)
		}
	}
	if d, ok := exports[abi.ExportProcessBatch]; ok {
		if !sigOf(d).equal(batchSig) {
			return loadFault(name, "export %s has signature %s, want %s", abi.ExportProcessBatch, sigOf(d), batchSig)
		}
		m.hasBatch = true
	}
	mem, ok := c.ExportedMemories()["memory"]
	if !ok {
		return loadFault(name, "missing export memory")
	}
	m.minMemoryBytes = uint64(mem.Min()) * pageBytes
	if m.minMemoryBytes > memoryLimitBytes {
		return loadFault(name, "memory starts at %d bytes, over the memory-limit of %d bytes", m.minMemoryBytes, memoryLimitBytes)
	}
	return nil
}

// close releases the runtime, its instances and the compiled code.
func (m *module) close(ctx context.Context) error {
	return m.rt.Close(ctx)
}
