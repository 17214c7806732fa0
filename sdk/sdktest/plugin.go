package sdktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/proctag/proctag/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// cache shares compiled code between the Loads of one test binary, so a
// module is compiled once however many instances the tests start.
var cache = wazero.NewCompilationCache()

// LogLine is one message the guest logged through proctag_v1.log.
type LogLine struct {
	Level abi.LogLevel
	Msg   string
}

// Plugin is one running instance of a plugin module.
type Plugin struct {
	rt    wazero.Runtime
	mod   api.Module
	alloc api.Function
	init  api.Function
	proc  api.Function
	batch api.Function // nil when the module has no batch export

	stack []uint64
	in    []byte
	logMu sync.Mutex
	logs  []LogLine
	// Stderr collects what the guest wrote to stdout and stderr (a Go
	// panic's message lands here).
	Stderr bytes.Buffer
}

// Load instantiates wasm as the agent does (WASI reactor started with
// _initialize, proctag_v1.log provided, no file system, env or args),
// checks the ABI version and the required exports, then calls
// proctag_init with config. An init failure returns the Plugin with an
// error, so its logs can be read. Close releases it.
func Load(ctx context.Context, wasm, config []byte) (*Plugin, error) {
	p := &Plugin{stack: make([]uint64, 2)}
	p.rt = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	if err := p.start(ctx, wasm); err != nil {
		p.Close(ctx)
		return nil, err
	}
	code, err := p.call(ctx, p.init, config)
	if err != nil {
		return p, fmt.Errorf("%s: %w", abi.ExportInit, err)
	}
	if code != 0 {
		return p, fmt.Errorf("%s returned %d", abi.ExportInit, code)
	}
	return p, nil
}

func (p *Plugin) start(ctx context.Context, wasm []byte) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.rt); err != nil {
		return fmt.Errorf("instantiate wasi: %w", err)
	}
	_, err := p.rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().WithFunc(p.hostLog).Export(abi.ImportLog).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("instantiate %s: %w", abi.ImportModule, err)
	}
	compiled, err := p.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	cfg := wazero.NewModuleConfig().WithStartFunctions("_initialize").
		WithStdout(&p.Stderr).WithStderr(&p.Stderr)
	if p.mod, err = p.rt.InstantiateModule(ctx, compiled, cfg); err != nil {
		return fmt.Errorf("instantiate: %w", err)
	}
	version := p.mod.ExportedFunction(abi.ExportABIVersion)
	if version == nil {
		return fmt.Errorf("export %s is missing", abi.ExportABIVersion)
	}
	res, err := version.Call(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", abi.ExportABIVersion, err)
	}
	if major, minor := abi.SplitVersion(uint32(res[0])); major != abi.Major {
		return fmt.Errorf("module implements ABI %d.%d, this host %d.%d", major, minor, abi.Major, abi.Minor)
	}
	for _, e := range []struct {
		name string
		fn   *api.Function
	}{{abi.ExportAlloc, &p.alloc}, {abi.ExportInit, &p.init}, {abi.ExportProcess, &p.proc}} {
		if *e.fn = p.mod.ExportedFunction(e.name); *e.fn == nil {
			return fmt.Errorf("export %s is missing", e.name)
		}
	}
	p.batch = p.mod.ExportedFunction(abi.ExportProcessBatch)
	return nil
}

func (p *Plugin) hostLog(_ context.Context, m api.Module, level, ptr, n uint32) {
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		panic(errors.New("log message outside guest memory"))
	}
	p.logMu.Lock()
	defer p.logMu.Unlock()
	p.logs = append(p.logs, LogLine{Level: abi.LogLevel(level), Msg: string(b)})
}

// Logs returns a copy of the messages the guest logged so far.
func (p *Plugin) Logs() []LogLine {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return append([]LogLine(nil), p.logs...)
}

// HasBatch reports whether the module exports proctag_process_batch.
func (p *Plugin) HasBatch() bool { return p.batch != nil }

// Close ends the instance and its runtime.
func (p *Plugin) Close(ctx context.Context) error { return p.rt.Close(ctx) }

// call writes in through proctag_alloc and calls fn(ptr, len), returning
// its raw result.
func (p *Plugin) call(ctx context.Context, fn api.Function, in []byte) (uint64, error) {
	p.stack[0] = uint64(len(in))
	if err := p.alloc.CallWithStack(ctx, p.stack); err != nil {
		return 0, fmt.Errorf("%s: %w", abi.ExportAlloc, err)
	}
	ptr := uint32(p.stack[0])
	if ptr == 0 || !p.mod.Memory().Write(ptr, in) {
		return 0, fmt.Errorf("%s(%d) returned %#x, not a buffer in memory", abi.ExportAlloc, len(in), ptr)
	}
	p.stack[0], p.stack[1] = uint64(ptr), uint64(len(in))
	if err := fn.CallWithStack(ctx, p.stack); err != nil {
		return 0, err
	}
	return p.stack[0], nil
}

// CallProcess sends one encoded record to proctag_process and returns a
// view of the encoded output in guest memory (valid until the next call;
// empty when unchanged). A negative return code is an *CodeError.
func (p *Plugin) CallProcess(ctx context.Context, in []byte) ([]byte, error) {
	return p.callOutput(ctx, p.proc, in)
}

// CallProcessBatch sends an encoded Batch to proctag_process_batch and
// returns a view of the encoded BatchResult, like CallProcess.
func (p *Plugin) CallProcessBatch(ctx context.Context, in []byte) ([]byte, error) {
	if p.batch == nil {
		return nil, fmt.Errorf("export %s is missing", abi.ExportProcessBatch)
	}
	return p.callOutput(ctx, p.batch, in)
}

func (p *Plugin) callOutput(ctx context.Context, fn api.Function, in []byte) ([]byte, error) {
	v, err := p.call(ctx, fn, in)
	if err != nil {
		return nil, err
	}
	ptr, n, ok := abi.UnpackResult(int64(v))
	if !ok {
		return nil, &CodeError{Code: int64(v)}
	}
	if n == 0 {
		return nil, nil
	}
	out, ok := p.mod.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("output [%#x, +%d) is outside guest memory", ptr, n)
	}
	return out, nil
}

// CodeError is a negative return code from a process export.
type CodeError struct{ Code int64 }

// Error names the code.
func (e *CodeError) Error() string {
	switch e.Code {
	case abi.CodeBadInput:
		return "guest returned -1 (bad input)"
	case abi.CodeInternal:
		return "guest returned -2 (internal error)"
	}
	return fmt.Sprintf("guest returned %d", e.Code)
}

// Process encodes rec with the fields of grant, calls proctag_process and
// decodes the result.
func (p *Plugin) Process(ctx context.Context, rec *abi.Record, grant abi.Fields) (abi.Result, error) {
	p.in = abi.AppendRecord(p.in[:0], rec, grant)
	var res abi.Result
	out, err := p.CallProcess(ctx, p.in)
	if err != nil {
		return res, err
	}
	err = abi.DecodeResult(out, &res)
	return res, err
}

// ProcessBatch encodes recs with the fields of grant, calls
// proctag_process_batch and returns the entries of the changed records.
func (p *Plugin) ProcessBatch(ctx context.Context, recs []abi.Record, grant abi.Fields) ([]abi.IndexedResult, error) {
	p.in = abi.AppendBatch(p.in[:0], recs, grant)
	out, err := p.CallProcessBatch(ctx, p.in)
	if err != nil {
		return nil, err
	}
	var rs []abi.IndexedResult
	err = abi.DecodeBatchResult(out, func(ir abi.IndexedResult) error {
		if ir.Index >= len(recs) {
			return fmt.Errorf("batch result index %d outside a batch of %d", ir.Index, len(recs))
		}
		rs = append(rs, ir)
		return nil
	})
	return rs, err
}

// JVMRecord is a typical record for tests and benchmarks: a JVM in a
// container with a handful of tags, every field of the default grant set.
// The SDK's and the agent's plugin benchmarks share it, so that their
// costs per record compare.
func JVMRecord(pid int) abi.Record {
	return abi.Record{
		PID: pid, PPID: 1, StartTime: 1_764_110_000_123,
		Name: "java", ProcessName: "java",
		Argv:    []string{"/usr/bin/java", "-Xmx1g", "-cp", "/srv/lib/*", "org.acme.billing.Main", "--port", "8080"},
		Cmdline: "/usr/bin/java -Xmx1g -cp /srv/lib/* org.acme.billing.Main --port 8080",
		Exe:     "/usr/lib/jvm/java-21/bin/java", UID: 1000, User: "app",
		ContainerID: "4f2c9d8e0a1b", Cgroup: "0::/system.slice/docker-4f2c9d8e0a1b.scope\n",
		Tags: []abi.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "pay"}},
	}
}
