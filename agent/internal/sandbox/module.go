package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/sandbox/instrument"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
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
	// instrumented module checks its stop global at every loop and
	// function entry) or StopNone (benchmarks only).
	stop StopMode
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

// compileSpec is what compiling one plugin version needs besides its bytes.
type compileSpec struct {
	name             string
	pin              string
	memoryLimitBytes uint64
	limits           Limits
	// deadline: calls will have deadlines, so the module is instrumented
	// (false only in benchmarks, to show what the deadline costs).
	deadline bool
}

// compileModule verifies the pin (on wasm as read), checks the module's
// structure against the plugin limits and instruments it (package
// instrument: every loop and function entry checks a stop global the host
// sets at a call's deadline, the call stack is charged against
// max-stack-size), then compiles it in a new runtime that uses cache
// (wazero keys it by the bytes compiled) within compile-timeout, and
// checks its imports and exports against ABI v1. A module the rewriter
// refuses is refused: nothing runs that the host could not stop. The ABI
// version itself is checked when the first instance starts.
func compileModule(ctx context.Context, wasm []byte, cs compileSpec, cache wazero.CompilationCache, glog *guestLog) (*module, error) {
	sum, err := checkPin(cs.name, wasm, cs.pin)
	if err != nil {
		return nil, err
	}
	stop := StopNone
	if cs.deadline {
		res, err := instrument.Module(wasm, cs.limits.instrument())
		switch {
		case errors.Is(err, instrument.ErrMalformed):
			return nil, loadFault(cs.name, "not a valid WebAssembly module: %w", err)
		case errors.Is(err, instrument.ErrUnsupported):
			return nil, loadFault(cs.name, "refused: %w", err)
		case err != nil:
			return nil, loadFault(cs.name, "refused before compiling: %w (plugin-limits)", err)
		}
		wasm, stop = res.Wasm, StopInline
	}
	return newModule(ctx, wasm, sum, stop, cs, cache, glog)
}

// errCompile marks a load fault raised by wazero's compiler.
var errCompile = errors.New("compile")

// compileWorkers compile a module's functions in parallel; with more than
// one, wazero also checks the context between functions, which is what
// lets compile-timeout stop a compilation.
const compileWorkers = 2

// newModule compiles wasm in a runtime of its own, set up for stop.
func newModule(ctx context.Context, wasm []byte, sum string, stop StopMode, cs compileSpec, cache wazero.CompilationCache, glog *guestLog) (*module, error) {
	cfg := wazero.NewRuntimeConfigCompiler()
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	m := &module{rt: rt, sha256: sum, stop: stop}
	if err := m.setup(ctx, cs, wasm, glog); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (m *module) setup(ctx context.Context, cs compileSpec, wasm []byte, glog *guestLog) error {
	name := cs.name
	timeout := cs.limits.compileTimeout()
	cctx, cancel := context.WithTimeout(experimental.WithCompilationWorkers(ctx, compileWorkers), timeout)
	compiled, err := m.rt.CompileModule(cctx, wasm)
	cancel()
	switch {
	case err != nil && ctx.Err() == nil && cctx.Err() != nil:
		return loadFault(name, "%w: compiling ran past the compile-timeout of %v", errCompile, timeout)
	case err != nil:
		return loadFault(name, "%w: %w", errCompile, err)
	}
	m.compiled = compiled
	if err := m.checkShape(name, cs.memoryLimitBytes); err != nil {
		return err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
		return fmt.Errorf("plugin %s: instantiate wasi: %w", name, err)
	}
	logFn := api.GoModuleFunc(func(_ context.Context, mod api.Module, stack []uint64) {
		level, ptr, n := abi.LogLevel(int32(stack[0])), uint32(stack[1]), uint32(stack[2])
		if uint64(ptr)+uint64(n) > uint64(mod.Memory().Size()) {
			// wazero turns a host function's panic into the call's error:
			// the instance is discarded, as for any bad pointer. The whole
			// range must be in memory (ABI.md, "Imports"), not only the
			// part the host keeps.
			panic(fmt.Errorf("%w: log text [%#x, +%d) is outside memory", errOutput, ptr, n))
		}
		text, _ := mod.Memory().Read(ptr, min(n, abi.MaxLogBytes))
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

// readModule reads a module file of at most maxBytes: the size is checked
// on the open file before reading (a huge or sparse file is refused
// unread), a FIFO or device is refused without blocking on it, and a file
// that grows while it is read is refused too.
func readModule(path string, maxBytes int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is a %s, not a regular file", path, fileKind(fi.Mode()))
	}
	if fi.Size() > maxBytes {
		return nil, fmt.Errorf("%s has %d bytes, over the max-module-size of %d", path, fi.Size(), maxBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("%s grew past the max-module-size of %d while read", path, maxBytes)
	}
	return b, nil
}

// fileKind names a file type for an error message.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDir != 0:
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "special file"
}
