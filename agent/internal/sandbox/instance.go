package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/sandbox/instrument"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// instanceConfig is what an instance needs besides its module.
type instanceConfig struct {
	name             string
	config           []byte
	memoryLimitBytes uint64
	// initTimeout bounds the whole start: the start function,
	// _initialize, proctag_abi_version and proctag_init.
	initTimeout    time.Duration
	stdout, stderr io.Writer
}

// instance is one running copy of a plugin. It serves one goroutine at a
// time (the pool guarantees it) and is discarded after any fault.
type instance struct {
	mod                   api.Module
	mem                   api.Memory
	guestMem              *guestMemory
	alloc, process, batch api.Function
	stack                 [2]uint64
	calls                 int
	// stop and fault are set when the module is StopInline: the global
	// the stopper sets, and the one the guest sets before a classified
	// trap (instrument.FaultStack, instrument.FaultGrow).
	stop  *stopper
	fault api.Global
}

// newInstance instantiates the module with no file system, env, args or
// network, runs its start function and _initialize, checks
// proctag_abi_version and calls proctag_init with the plugin's config, all
// within ic.initTimeout.
func (m *module) newInstance(ctx context.Context, ic instanceConfig) (*instance, error) {
	if ic.initTimeout <= 0 {
		ic.initTimeout = fallbackInitTimeout
	}
	gm := &guestMemory{limit: ic.memoryLimitBytes}
	ictx := experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(
		func(_, _ uint64) experimental.LinearMemory { return gm }))
	cfg := wazero.NewModuleConfig().WithName("").WithStdout(ic.stdout).WithStderr(ic.stderr).
		WithRandSource(newRandBudget(time.Now))
	if m.stop == StopInline {
		// The start function and _initialize run below, once the stop
		// global can be reached.
		cfg = cfg.WithStartFunctions()
	} else {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ictx, ic.initTimeout)
		defer cancel()
		cfg = cfg.WithStartFunctions("_initialize")
	}
	mod, err := m.rt.InstantiateModule(ictx, m.compiled, cfg)
	if err != nil {
		return nil, &Fault{Plugin: ic.name, Kind: memoryKind(gm, nil, FaultInit), Err: fmt.Errorf("instantiate: %w", err)}
	}
	in := &instance{
		mod: mod, mem: mod.Memory(), guestMem: gm,
		alloc:   mod.ExportedFunction(abi.ExportAlloc),
		process: mod.ExportedFunction(abi.ExportProcess),
		batch:   mod.ExportedFunction(abi.ExportProcessBatch),
	}
	if m.stop == StopInline {
		g, ok := mod.ExportedGlobal(instrument.StopExport).(api.MutableGlobal)
		in.fault = mod.ExportedGlobal(instrument.FaultExport)
		if !ok || in.fault == nil {
			in.close(ctx)
			return nil, &Fault{Plugin: ic.name, Kind: FaultLoad, Err: fmt.Errorf("instrumented module lacks the globals %s and %s", instrument.StopExport, instrument.FaultExport)}
		}
		in.stop = &stopper{global: g}
		in.stop.arm(ictx, ic.initTimeout)
	}
	err = in.start(ictx, ic)
	if in.stop != nil && in.stop.disarm() && ctx.Err() == nil {
		// Stopped, or finished after the deadline: either way too slow.
		err = &Fault{Plugin: ic.name, Kind: FaultTimeout, Err: fmt.Errorf("start ran past the init-timeout of %v", ic.initTimeout)}
	}
	if err != nil {
		in.close(ctx)
		return nil, err
	}
	return in, nil
}

// memoryKind is FaultMemory when the guest's memory refused to grow or its
// code recorded a failed grow or an exhausted stack before it trapped, else
// kind.
func memoryKind(gm *guestMemory, fault api.Global, kind FaultKind) FaultKind {
	if gm.denied.Load() {
		return FaultMemory
	}
	if fault != nil {
		switch fault.Get() {
		case instrument.FaultGrow, instrument.FaultStack:
			return FaultMemory
		}
	}
	return kind
}

// memoryReason says what a memory fault was, for its message.
func (in *instance) memoryReason() string {
	if in.fault != nil && in.fault.Get() == instrument.FaultStack {
		return "call stack over max-stack-size"
	}
	return "memory.grow past the memory-limit or the module's maximum"
}

func (in *instance) start(ctx context.Context, ic instanceConfig) error {
	fail := func(what string, err error) error {
		kind := memoryKind(in.guestMem, in.fault, FaultInit)
		if kind == FaultMemory {
			err = fmt.Errorf("%s: %w", in.memoryReason(), err)
		}
		return &Fault{Plugin: ic.name, Kind: kind, Err: fmt.Errorf("%s: %w", what, err)}
	}
	if in.stop != nil {
		for _, name := range []string{instrument.StartExport, "_initialize"} {
			if fn := in.mod.ExportedFunction(name); fn != nil {
				if err := fn.CallWithStack(ctx, in.stack[:]); err != nil {
					return fail("instantiate: "+name, err)
				}
			}
		}
	}
	if err := in.mod.ExportedFunction(abi.ExportABIVersion).CallWithStack(ctx, in.stack[:]); err != nil {
		return fail(abi.ExportABIVersion, err)
	}
	major, minor := abi.SplitVersion(uint32(in.stack[0]))
	if major != abi.Major {
		return &Fault{Plugin: ic.name, Kind: FaultLoad,
			Err: fmt.Errorf("reports ABI version %d.%d, this host speaks %d.x", major, minor, abi.Major)}
	}
	ptr, err := in.write(ctx, ic.config)
	if err != nil {
		return fail("config", err)
	}
	in.stack[0], in.stack[1] = uint64(ptr), uint64(len(ic.config))
	if err := in.mod.ExportedFunction(abi.ExportInit).CallWithStack(ctx, in.stack[:]); err != nil {
		return fail(abi.ExportInit, err)
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
	if ptr == 0 {
		return 0, fmt.Errorf("%w: %s(%d) returned 0, which ABI.md calls a failed allocation", errOutput, abi.ExportAlloc, len(b))
	}
	if !in.mem.Write(ptr, b) {
		return 0, fmt.Errorf("%w: %s(%d) returned %#x, outside memory", errOutput, abi.ExportAlloc, len(b), ptr)
	}
	return ptr, nil
}

// call runs fn (proctag_process or proctag_process_batch) on input under a
// deadline of timeout (none when timeout is 0 or the module is StopNone,
// for benchmarks only) and returns a copy of the output; nil means
// "unchanged". A call stopped at its deadline, or one that returned after
// it, is a FaultTimeout and its output is discarded. Errors are *Fault
// with the kind set; a canceled parent context is returned as is
// (shutdown, not a fault). After an error the instance must be discarded.
func (in *instance) call(parent context.Context, name string, timeout time.Duration, fn api.Function, input []byte, maxOut uint32) ([]byte, error) {
	in.calls++
	var out []byte
	var err error
	stopped := false
	if timeout > 0 && in.stop != nil {
		in.stop.arm(parent, timeout)
		out, err = in.callLocked(parent, fn, input, maxOut)
		stopped = in.stop.disarm()
	} else {
		out, err = in.callLocked(parent, fn, input, maxOut)
	}
	if perr := parent.Err(); perr != nil && (err != nil || stopped) {
		return nil, perr
	}
	if stopped {
		// Stopped, or returned after the deadline: a late result is
		// discarded like a trapped call's.
		return nil, &Fault{Plugin: name, Kind: FaultTimeout, Err: fmt.Errorf("call ran past the timeout of %v", timeout)}
	}
	if err == nil {
		return out, nil
	}
	kind := FaultTrap
	switch {
	case memoryKind(in.guestMem, in.fault, FaultTrap) == FaultMemory:
		kind, err = FaultMemory, fmt.Errorf("%s: %w", in.memoryReason(), err)
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
