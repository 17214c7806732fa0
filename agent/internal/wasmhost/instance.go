package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/wasmhost/instrument"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// startTimeout bounds instantiation (_initialize), proctag_abi_version and
// proctag_init of one instance.
const startTimeout = 10 * time.Second

// cappedMemory backs a guest's linear memory and refuses to grow it past
// limit, remembering that it did so the fault can be named "memory".
// wazero calls it only from the goroutine running the instance.
type cappedMemory struct {
	buf    []byte
	limit  uint64
	denied atomic.Bool
}

// Reallocate implements experimental.LinearMemory.
func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit && m.buf != nil {
		m.denied.Store(true)
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *cappedMemory) Free() { m.buf = nil }

// instanceConfig is what an instance needs besides its module.
type instanceConfig struct {
	name             string
	config           []byte
	memoryLimitBytes uint64
	stdout, stderr   io.Writer
}

// instance is one running copy of a plugin. It serves one goroutine at a
// time (the pool guarantees it) and is discarded after any fault.
type instance struct {
	mod                   api.Module
	mem                   api.Memory
	capped                *cappedMemory
	alloc, process, batch api.Function
	stack                 [2]uint64
	calls                 int
	// stop is set when the module is StopInline.
	stop *stopper
}

// newInstance instantiates the module with no file system, env, args or
// network, runs _initialize, checks proctag_abi_version and calls
// proctag_init with the plugin's config.
func (m *module) newInstance(ctx context.Context, ic instanceConfig) (*instance, error) {
	capped := &cappedMemory{limit: ic.memoryLimitBytes}
	ictx := experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(
		func(_, _ uint64) experimental.LinearMemory { return capped }))
	ictx, cancel := context.WithTimeout(ictx, startTimeout)
	defer cancel()
	cfg := wazero.NewModuleConfig().WithName("").WithStdout(ic.stdout).WithStderr(ic.stderr)
	if m.stop == StopInline {
		// _initialize runs below, once the stop global can be reached.
		cfg = cfg.WithStartFunctions()
	} else {
		cfg = cfg.WithStartFunctions("_initialize")
	}
	mod, err := m.rt.InstantiateModule(ictx, m.compiled, cfg)
	if err != nil {
		return nil, &Fault{Plugin: ic.name, Kind: startKind(capped), Err: fmt.Errorf("instantiate: %w", err)}
	}
	in := &instance{
		mod: mod, mem: mod.Memory(), capped: capped,
		alloc:   mod.ExportedFunction(abi.ExportAlloc),
		process: mod.ExportedFunction(abi.ExportProcess),
		batch:   mod.ExportedFunction(abi.ExportProcessBatch),
	}
	if m.stop == StopInline {
		g, ok := mod.ExportedGlobal(instrument.StopExport).(api.MutableGlobal)
		if !ok {
			in.close(ctx)
			return nil, &Fault{Plugin: ic.name, Kind: FaultLoad, Err: fmt.Errorf("instrumented module lacks the mutable global %s", instrument.StopExport)}
		}
		in.stop = &stopper{global: g}
		in.stop.arm(ictx, startTimeout)
	}
	err = in.start(ictx, ic)
	var f *Fault
	if in.stop != nil && in.stop.disarm() && errors.As(err, &f) {
		f.Err = fmt.Errorf("start ran past the %v timeout: %w", startTimeout, f.Err)
	}
	if err != nil {
		in.close(ctx)
		return nil, err
	}
	return in, nil
}

func startKind(c *cappedMemory) FaultKind {
	if c.denied.Load() {
		return FaultMemory
	}
	return FaultInit
}

func (in *instance) start(ctx context.Context, ic instanceConfig) error {
	if in.stop != nil {
		if fn := in.mod.ExportedFunction("_initialize"); fn != nil {
			if err := fn.CallWithStack(ctx, in.stack[:]); err != nil {
				return &Fault{Plugin: ic.name, Kind: startKind(in.capped), Err: fmt.Errorf("instantiate: _initialize: %w", err)}
			}
		}
	}
	if err := in.mod.ExportedFunction(abi.ExportABIVersion).CallWithStack(ctx, in.stack[:]); err != nil {
		return &Fault{Plugin: ic.name, Kind: startKind(in.capped), Err: fmt.Errorf("%s: %w", abi.ExportABIVersion, err)}
	}
	major, minor := abi.SplitVersion(uint32(in.stack[0]))
	if major != abi.Major {
		return &Fault{Plugin: ic.name, Kind: FaultLoad,
			Err: fmt.Errorf("reports ABI version %d.%d, this host speaks %d.x", major, minor, abi.Major)}
	}
	ptr, err := in.write(ctx, ic.config)
	if err != nil {
		return &Fault{Plugin: ic.name, Kind: startKind(in.capped), Err: fmt.Errorf("config: %w", err)}
	}
	in.stack[0], in.stack[1] = uint64(ptr), uint64(len(ic.config))
	if err := in.mod.ExportedFunction(abi.ExportInit).CallWithStack(ctx, in.stack[:]); err != nil {
		return &Fault{Plugin: ic.name, Kind: startKind(in.capped), Err: fmt.Errorf("%s: %w", abi.ExportInit, err)}
	}
	if rc := int32(in.stack[0]); rc != 0 {
		return &Fault{Plugin: ic.name, Kind: FaultInit, Err: fmt.Errorf("%s returned %d", abi.ExportInit, rc)}
	}
	return nil
}

// errOutput marks a call error as FaultBadOutput rather than a trap.
var errOutput = errors.New("bad output")

// write copies b into a buffer from proctag_alloc and returns its address.
func (in *instance) write(ctx context.Context, b []byte) (uint32, error) {
	if len(b) == 0 {
		return 0, nil
	}
	in.stack[0] = uint64(len(b))
	if err := in.alloc.CallWithStack(ctx, in.stack[:]); err != nil {
		return 0, fmt.Errorf("%s: %w", abi.ExportAlloc, err)
	}
	ptr := uint32(in.stack[0])
	if !in.mem.Write(ptr, b) {
		return 0, fmt.Errorf("%w: %s(%d) returned %#x, outside memory", errOutput, abi.ExportAlloc, len(b), ptr)
	}
	return ptr, nil
}

// call runs fn (proctag_process or proctag_process_batch) on input under a
// deadline of timeout (none when timeout is 0, for benchmarks only) and
// returns a copy of the output; nil means
// "unchanged". Errors are *Fault with the kind set; a canceled parent
// context is returned as is (shutdown, not a fault). After an error the
// instance must be discarded.
func (in *instance) call(parent context.Context, name string, timeout time.Duration, fn api.Function, input []byte, maxOut uint32) ([]byte, error) {
	in.calls++
	var out []byte
	var err error
	stopped := false
	switch {
	case timeout <= 0:
		out, err = in.callLocked(parent, fn, input, maxOut)
	case in.stop != nil:
		in.stop.arm(parent, timeout)
		out, err = in.callLocked(parent, fn, input, maxOut)
		stopped = in.stop.disarm()
	default:
		ctx, cancel := context.WithTimeout(parent, timeout)
		out, err = in.callLocked(ctx, fn, input, maxOut)
		cancel()
	}
	if err == nil {
		return out, nil
	}
	if perr := parent.Err(); perr != nil {
		return nil, perr
	}
	kind := FaultTrap
	var exit *sys.ExitError
	switch {
	case in.capped.denied.Load():
		kind = FaultMemory
	case stopped, errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		kind, err = FaultTimeout, fmt.Errorf("call ran past the %v timeout", timeout)
	case errors.Is(err, errOutput):
		kind = FaultBadOutput
	}
	return nil, &Fault{Plugin: name, Kind: kind, Err: err}
}

func (in *instance) callLocked(ctx context.Context, fn api.Function, input []byte, maxOut uint32) ([]byte, error) {
	ptr, err := in.write(ctx, input)
	if err != nil {
		return nil, err
	}
	in.stack[0], in.stack[1] = uint64(ptr), uint64(len(input))
	if err := fn.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, err
	}
	v := int64(in.stack[0])
	out, n, ok := abi.UnpackResult(v)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: returned error code %d", errOutput, v)
	case n == 0:
		return nil, nil
	case n > maxOut:
		return nil, fmt.Errorf("%w: output of %d bytes, the limit is %d", errOutput, n, maxOut)
	}
	b, ok := in.mem.Read(out, n)
	if !ok {
		return nil, fmt.Errorf("%w: output [%#x, +%d) is outside memory", errOutput, out, n)
	}
	return bytes.Clone(b), nil
}

// memoryBytes is the instance's current memory size.
func (in *instance) memoryBytes() uint64 { return uint64(in.mem.Size()) }

func (in *instance) close(ctx context.Context) {
	_ = in.mod.Close(ctx)
}
