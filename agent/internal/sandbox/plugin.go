package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
	"github.com/tetratelabs/wazero"
)

// maxOutputBytes caps one record's encoded result.
const maxOutputBytes = 64 << 10

// ErrOutOfScope is returned by (*Plugin).Call for a process the plugin's
// scope does not select; the agent never calls the plugin for it.
var ErrOutOfScope = errors.New("process is outside the plugin's scope")

// Plugin is one loaded version of a plugin: its compiled module, grant and
// instance pool. It is safe for concurrent use; each instance serves one
// call at a time. A changed module or spec means a new Plugin.
type Plugin struct {
	name     string
	spec     Spec
	grant    grant
	mod      *module
	pool     *pool
	counters *Counters
	glog     *guestLog
	stdout   *lineWriter
	stderr   *lineWriter
	timeout  time.Duration
	// ownCache is the compilation cache LoadFile made, closed with the
	// plugin; nil when the caller passed one.
	ownCache *Cache
}

// Counters are what the sandbox counts about a plugin. The caller owns
// them and may share one Counters between the versions of a plugin (a
// reload), so that the counts survive it. Safe for concurrent use.
type Counters struct {
	// Calls counts export calls (a batch is one call); Records the records
	// sent in them.
	Calls, Records atomic.Uint64
	// CallNanos is the total time of those calls, in nanoseconds.
	CallNanos atomic.Int64
	// Recycled counts healthy instances closed after recycleCalls calls or
	// for their memory.
	Recycled atomic.Uint64
	// GuestLogDropped counts guest log lines dropped by the rate limit.
	GuestLogDropped atomic.Uint64
}

// Cache is wazero's compilation cache, shared by the plugins of one agent
// so that a module compiles once; on disk it lasts across agent starts.
// Close it after the plugins that use it.
type Cache struct {
	c wazero.CompilationCache
}

// OpenCache opens the compilation cache in dir, or an in-memory one when
// dir is "". When dir cannot be used it returns an in-memory cache and the
// error, for the caller to log.
func OpenCache(dir string) (*Cache, error) {
	if dir != "" {
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err == nil {
			return &Cache{c: c}, nil
		}
		return &Cache{c: wazero.NewCompilationCache()}, err
	}
	return &Cache{c: wazero.NewCompilationCache()}, nil
}

// Close releases the cache (the files on disk stay).
func (c *Cache) Close(ctx context.Context) error { return c.c.Close(ctx) }

// Env is what Load needs besides the spec.
type Env struct {
	// Cache is the compilation cache; nil = an in-memory one of the
	// plugin's own, closed with it.
	Cache *Cache
	// Limits are the structural limits the module is checked against.
	Limits Limits
	// Logger gets the plugin's log lines and its guest's output, with
	// "plugin" set to the spec's name; nil = none.
	Logger hclog.Logger
	// Now is the guest log limiter's clock; nil = time.Now.
	Now func() time.Time
	// Counters receive the plugin's counts; nil = counters of its own.
	Counters *Counters
	// noDeadline compiles without instrumenting and calls without a
	// deadline: only benchmarks set it, to show what the deadline costs.
	noDeadline bool
}

// Load loads one plugin: it checks the grant, reads the module (spec.Wasm,
// else spec.Path within Limits.MaxModuleBytes), checks the sha256 pin,
// checks the module's structure against the limits and instruments it,
// compiles it within the compile-timeout, checks its exports and imports
// against ABI v1, and starts one instance (ABI version, init with
// spec.Config), which it keeps. Errors are *Fault with Kind FaultLoad,
// FaultInit or FaultMemory. Close the Plugin when done.
func Load(ctx context.Context, spec Spec, env Env) (*Plugin, error) {
	spec = spec.withFallbacks()
	g, err := newGrant(spec)
	if err != nil {
		return nil, loadFault(spec.Name, "%w", err)
	}
	wasm := spec.Wasm
	if wasm == nil {
		if wasm, err = readModule(spec.Path, env.Limits.ModuleBytes()); err != nil {
			return nil, loadFault(spec.Name, "read module: %w", err)
		}
	}
	spec.Wasm = nil // not kept: the compiled module is
	if env.Logger == nil {
		env.Logger = hclog.NewNullLogger()
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Counters == nil {
		env.Counters = &Counters{}
	}
	var own *Cache
	if env.Cache == nil {
		own, _ = OpenCache("")
		env.Cache = own
	}
	glog := newGuestLog(env.Logger.With("plugin", spec.Name), env.Now)
	glog.droppedTotal = &env.Counters.GuestLogDropped
	pl := &Plugin{
		name: spec.Name, spec: spec, grant: g, counters: env.Counters, glog: glog,
		stdout:  &lineWriter{log: glog, source: "stdout", level: hclog.Info},
		stderr:  &lineWriter{log: glog, source: "stderr", level: hclog.Info},
		timeout: spec.Timeout, ownCache: own,
	}
	if env.noDeadline {
		pl.timeout = 0
	}
	pl.mod, err = compileModule(ctx, wasm, compileSpec{
		name: spec.Name, pin: spec.SHA256, memoryLimitBytes: spec.MemoryLimitBytes,
		limits: env.Limits, deadline: !env.noDeadline,
	}, env.Cache.c, glog)
	if err != nil {
		pl.closeCache(ctx)
		return nil, err
	}
	// Recycle an instance once its memory used half of the room it had
	// left when it started.
	mark := pl.mod.minMemoryBytes + (spec.MemoryLimitBytes-pl.mod.minMemoryBytes)/2
	pl.pool = newPool(spec.Instances, mark, pl.startInstance)
	in, err := pl.startInstance(ctx)
	if err != nil {
		_ = pl.mod.close(ctx)
		pl.closeCache(ctx)
		return nil, err
	}
	pl.pool.add(in)
	return pl, nil
}

// LoadFile loads the module at path (spec.Path when path is "") as Load
// does, with a compilation cache of its own (pass WithCacheDir to reuse
// the agent's) and the limits of WithLimits. It is what `proctag plugin
// test` uses.
func LoadFile(ctx context.Context, path string, spec Spec, logger hclog.Logger, opts ...LoadOption) (*Plugin, error) {
	if path != "" {
		spec.Path = path
	}
	var o loadOptions
	for _, opt := range opts {
		opt(&o)
	}
	env := Env{Logger: logger, Limits: o.limits, noDeadline: o.noDeadline}
	if o.cacheDir != "" {
		if c, err := OpenCache(o.cacheDir); err == nil {
			env.Cache = c
			pl, err := Load(ctx, spec, env)
			if err != nil {
				_ = c.Close(ctx)
				return nil, err
			}
			pl.ownCache = c
			return pl, nil
		}
	}
	return Load(ctx, spec, env)
}

// Check loads one plugin as LoadFile would, then closes it: what `proctag
// check` runs for each plugin. The error is a *Fault.
func Check(ctx context.Context, spec Spec, opts ...LoadOption) error {
	pl, err := LoadFile(ctx, "", spec, hclog.NewNullLogger(), opts...)
	if err != nil {
		return err
	}
	return pl.Close(ctx)
}

// LoadOption configures LoadFile and Check.
type LoadOption func(*loadOptions)

type loadOptions struct {
	cacheDir   string
	limits     Limits
	noDeadline bool
}

// WithCacheDir makes LoadFile and Check use wazero's compilation cache in
// dir (the agent's cache directory), so a module compiles once across runs;
// without it they compile in memory. An unusable dir falls back to memory.
func WithCacheDir(dir string) LoadOption {
	return func(o *loadOptions) { o.cacheDir = dir }
}

// WithLimits checks the module against l (plugin-limits) instead of the
// fallbacks.
func WithLimits(l Limits) LoadOption {
	return func(o *loadOptions) { o.limits = l }
}

func (p *Plugin) startInstance(ctx context.Context) (*instance, error) {
	return p.mod.newInstance(ctx, instanceConfig{
		name: p.name, config: p.spec.Config, memoryLimitBytes: p.spec.MemoryLimitBytes,
		initTimeout: p.spec.InitTimeout, stdout: p.stdout, stderr: p.stderr,
	})
}

// Name is the plugin's name, from its Spec.
func (p *Plugin) Name() string { return p.name }

// SHA256 is the hex sha256 of the loaded module.
func (p *Plugin) SHA256() string { return p.mod.sha256 }

// StopMode reports how a call past the plugin's timeout is stopped.
func (p *Plugin) StopMode() StopMode { return p.mod.stop }

// HasBatch reports whether the module exports proctag_process_batch.
func (p *Plugin) HasBatch() bool { return p.mod.hasBatch }

// Instances is the number of live instances now.
func (p *Plugin) Instances() int { return p.pool.live() }

// Spec is the spec the plugin was loaded with, its fallbacks filled in
// (its slices are shared: do not modify them).
func (p *Plugin) Spec() Spec { return p.spec }

// Fields are the record fields the plugin may read: what a caller encodes
// with abi.AppendRecord for Run.
func (p *Plugin) Fields() abi.Fields { return p.grant.fields }

// InScope reports whether the plugin may see the process at all (its
// scope's uids and regex).
func (p *Plugin) InScope(r *abi.Record) bool { return p.grant.inScope(r) }

// ScopeMatchesText reports whether the scope has a regex, on the record's
// ProcessName or Cmdline: a caller may keep InScope's verdict while those
// two (and the uid) stay the same.
func (p *Plugin) ScopeMatchesText() bool { return p.grant.re != nil }

// Call runs the plugin on one record, as the agent would: fields outside the
// grant are removed first (rec.Env is passed only when env is granted), the
// output is checked against the grant. It returns the result, the time the
// call took, and an error: ErrOutOfScope, a *Fault (the instance was
// discarded), or a *Violation (the result is returned too, for display,
// but the agent would not apply it).
func (p *Plugin) Call(ctx context.Context, rec abi.Record) (abi.Result, time.Duration, error) {
	if !p.grant.inScope(&rec) {
		return abi.Result{}, 0, ErrOutOfScope
	}
	input := abi.AppendRecord(nil, &rec, p.grant.fields)
	in, err := p.pool.get(ctx)
	if err != nil {
		return abi.Result{}, 0, err
	}
	p.counters.Calls.Add(1)
	p.counters.Records.Add(1)
	start := time.Now()
	out, err := in.call(ctx, p.name, p.timeout, in.process, input, maxOutputBytes)
	took := time.Since(start)
	p.counters.CallNanos.Add(int64(took))
	var res abi.Result
	if err == nil {
		if derr := abi.DecodeResult(out, &res); derr != nil {
			err = &Fault{Plugin: p.name, Kind: FaultBadOutput, Err: fmt.Errorf("decode result: %w", derr)}
		} else if msg := p.grant.check(&res); msg != "" {
			err = &Violation{Plugin: p.name, Reason: msg}
		}
	}
	if p.pool.put(ctx, in, err == nil) {
		p.counters.Recycled.Add(1)
	}
	return res, took, err
}

// Close stops the plugin's instances and frees its compiled code.
func (p *Plugin) Close(ctx context.Context) error {
	p.pool.close(ctx)
	p.stdout.Flush()
	p.stderr.Flush()
	p.glog.close()
	err := p.mod.close(ctx)
	if p.ownCache != nil {
		err = errors.Join(err, p.ownCache.Close(ctx))
	}
	return err
}

// closeCache closes the plugin's own cache after a failed load.
func (p *Plugin) closeCache(ctx context.Context) {
	if p.ownCache != nil {
		_ = p.ownCache.Close(ctx)
	}
}
