package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/config"
	"github.com/tetratelabs/wazero"
)

// Defaults for a config.Plugin whose limits are zero (the config package
// normally fills them in).
const (
	defaultTimeout     = 100 * time.Millisecond
	defaultInitTimeout = time.Second
	defaultTickBudget  = time.Second
	defaultMemoryBytes = 64 << 20
	defaultInstances   = 2
	// maxOutputBytes caps one record's encoded result.
	maxOutputBytes = 64 << 10
)

// ErrOutOfScope is returned by (*Plugin).Call for a process the plugin's
// scope does not select; the host never calls the plugin for it.
var ErrOutOfScope = errors.New("process is outside the plugin's scope")

// Plugin is one loaded version of a plugin: its compiled module, grant,
// instance pool and circuit breaker. It is safe for concurrent use; each
// instance serves one call at a time. A reload makes a new Plugin.
type Plugin struct {
	name    string
	path    string
	spec    config.Plugin
	grant   grant
	mod     *module
	pool    *pool
	breaker *breaker
	stats   *counters
	logger  hclog.Logger
	glog    *guestLog
	stdout  *lineWriter
	stderr  *lineWriter
	timeout time.Duration
	gen     uint64
	now     func() time.Time
	// ownCache is the compilation cache LoadFile made, closed with the
	// plugin; nil for a Host's plugins, which share the Host's.
	ownCache wazero.CompilationCache

	loggedFaults     [numFaultKinds]atomic.Bool
	loggedViolations atomic.Bool
	loggedBudget     atomic.Bool
}

// LoadFile loads the module at path (p.Path when path is "") with the grant
// and limits of p: it checks the sha256 pin, compiles, checks the exports
// and imports against ABI v1, starts one instance (ABI version, init with
// p.Config) and keeps it. It is what `proctag plugin test` uses (pass
// WithCacheDir to reuse the agent's compilation cache); errors are
// *Fault with Kind FaultLoad, FaultInit or FaultMemory. Close the Plugin
// when done.
func LoadFile(ctx context.Context, path string, p config.Plugin, logger hclog.Logger, opts ...LoadOption) (*Plugin, error) {
	if path != "" {
		p.Path = path
	}
	var o loadOptions
	for _, opt := range opts {
		opt(&o)
	}
	cache := o.cache()
	pl, err := load(ctx, p, loadEnv{cache: cache, logger: logger, stats: &counters{}, gen: 1, now: time.Now, noDeadline: o.noDeadline, limits: o.limits})
	if err != nil {
		_ = cache.Close(ctx)
		return nil, err
	}
	pl.ownCache = cache
	return pl, nil
}

// LoadOption configures LoadFile and Check.
type LoadOption func(*loadOptions)

type loadOptions struct {
	cacheDir string
	limits   config.PluginLimits
	// noDeadline compiles without wazero's termination checks and calls
	// without a deadline: only benchmarks set it, to show what the
	// deadline costs.
	noDeadline bool
}

// WithCacheDir makes LoadFile and Check use wazero's compilation cache in
// dir (the agent's cache directory), so a module compiles once across runs;
// without it they compile in memory. An unusable dir falls back to memory.
func WithCacheDir(dir string) LoadOption {
	return func(o *loadOptions) { o.cacheDir = dir }
}

// WithLimits checks the module against l (plugin-limits) instead of the
// defaults.
func WithLimits(l config.PluginLimits) LoadOption {
	return func(o *loadOptions) { o.limits = l }
}

func (o loadOptions) cache() wazero.CompilationCache {
	if o.cacheDir != "" {
		if c, err := wazero.NewCompilationCacheWithDir(o.cacheDir); err == nil {
			return c
		}
	}
	return wazero.NewCompilationCache()
}

// loadEnv is what a load needs besides the plugin's config.
type loadEnv struct {
	cache      wazero.CompilationCache
	logger     hclog.Logger
	stats      *counters
	gen        uint64
	now        func() time.Time
	noDeadline bool
	limits     config.PluginLimits
	// wasm is the module when the caller read it already (a plugin
	// directory's, checked by package dirtrust); nil = read p.Path.
	wasm []byte
}

func load(ctx context.Context, p config.Plugin, env loadEnv) (*Plugin, error) {
	if p.Timeout <= 0 {
		p.Timeout = defaultTimeout
	}
	if p.MemoryLimitBytes == 0 {
		p.MemoryLimitBytes = defaultMemoryBytes
	}
	if p.Instances <= 0 {
		p.Instances = defaultInstances
	}
	if p.InitTimeout <= 0 {
		p.InitTimeout = defaultInitTimeout
	}
	if p.TickBudget <= 0 {
		p.TickBudget = defaultTickBudget
	}
	g, err := newGrant(p)
	if err != nil {
		return nil, loadFault(p.Name, "%w", err)
	}
	wasm := env.wasm
	if wasm == nil {
		maxBytes := env.limits.MaxModuleBytes
		if maxBytes <= 0 {
			maxBytes = config.DefaultPluginLimits().MaxModuleBytes
		}
		if wasm, err = readModule(p.Path, maxBytes); err != nil {
			return nil, loadFault(p.Name, "read module: %w", err)
		}
	}
	logger := env.logger.With("plugin", p.Name)
	glog := newGuestLog(logger, env.now)
	glog.droppedTotal = &env.stats.guestLogDropped
	pl := &Plugin{
		name: p.Name, path: p.Path, spec: p, grant: g,
		breaker: newBreaker(), stats: env.stats, logger: logger, glog: glog,
		stdout:  &lineWriter{log: glog, source: "stdout", level: hclog.Info},
		stderr:  &lineWriter{log: glog, source: "stderr", level: hclog.Info},
		timeout: p.Timeout, gen: env.gen, now: env.now,
	}
	if env.noDeadline {
		pl.timeout = 0
	}
	pl.mod, err = compileModule(ctx, wasm, compileSpec{
		name: p.Name, pin: p.SHA256, memoryLimitBytes: p.MemoryLimitBytes,
		limits: env.limits, deadline: !env.noDeadline,
	}, env.cache, glog)
	if err != nil {
		return nil, err
	}
	// Recycle an instance once its memory used half of the room it had
	// left when it started.
	mark := pl.mod.minMemoryBytes + (p.MemoryLimitBytes-pl.mod.minMemoryBytes)/2
	pl.pool = newPool(p.Instances, mark, pl.startInstance)
	in, err := pl.startInstance(ctx)
	if err != nil {
		_ = pl.mod.close(ctx)
		return nil, err
	}
	pl.pool.add(in)
	return pl, nil
}

func (p *Plugin) startInstance(ctx context.Context) (*instance, error) {
	return p.mod.newInstance(ctx, instanceConfig{
		name: p.name, config: p.spec.Config, memoryLimitBytes: p.spec.MemoryLimitBytes,
		initTimeout: p.spec.InitTimeout, stdout: p.stdout, stderr: p.stderr,
	})
}

// Name is the plugin's configured name.
func (p *Plugin) Name() string { return p.name }

// SHA256 is the hex sha256 of the loaded module.
func (p *Plugin) SHA256() string { return p.mod.sha256 }

// StopMode reports how a call past the plugin's timeout is stopped.
func (p *Plugin) StopMode() StopMode { return p.mod.stop }

// HasBatch reports whether the module exports proctag_process_batch.
func (p *Plugin) HasBatch() bool { return p.mod.hasBatch }

// Call runs the plugin on one record, as the host would: fields outside the
// grant are removed first (rec.Env is passed only when env is granted), the
// output is checked against the grant. It returns the result, the time the
// call took, and an error: ErrOutOfScope, a *Fault (the instance was
// discarded), or a *Violation (the result is returned too, for display,
// but the host would not apply it).
func (p *Plugin) Call(ctx context.Context, rec abi.Record) (abi.Result, time.Duration, error) {
	if !p.grant.inScope(&rec) {
		return abi.Result{}, 0, ErrOutOfScope
	}
	input := abi.AppendRecord(nil, &rec, p.grant.fields)
	in, err := p.pool.get(ctx)
	if err != nil {
		return abi.Result{}, 0, err
	}
	start := time.Now()
	out, err := in.call(ctx, p.name, p.timeout, in.process, input, maxOutputBytes)
	took := time.Since(start)
	var res abi.Result
	if err == nil {
		if derr := abi.DecodeResult(out, &res); derr != nil {
			err = &Fault{Plugin: p.name, Kind: FaultBadOutput, Err: fmt.Errorf("decode result: %w", derr)}
		} else if msg := p.grant.check(&res); msg != "" {
			err = &Violation{Plugin: p.name, Reason: msg}
		}
	}
	if p.pool.put(ctx, in, err == nil) {
		p.stats.recycled.Add(1)
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

// noteFault counts a fault and logs the first one of each kind.
func (p *Plugin) noteFault(err error) {
	var f *Fault
	if !errors.As(err, &f) {
		return
	}
	p.stats.faults[f.Kind].Add(1)
	msg := cutText(f.Error())
	p.stats.lastFault.Store(&msg)
	if !p.loggedFaults[f.Kind].Swap(true) {
		p.logger.Warn("plugin fault, previous results kept", "kind", f.Kind.String(), "error", cutText(f.Err.Error()))
	}
}

// maxFaultText bounds a fault's text in the log and the stats: a trap's
// message carries the guest's stack trace, which the guest shapes.
const maxFaultText = 2048

// cutText cuts s to maxFaultText bytes (on a rune boundary) and makes it
// valid UTF-8.
func cutText(s string) string {
	if len(s) > maxFaultText {
		i := maxFaultText
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + " …(cut)"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// noteViolation counts a rejected output, as a violation and as a grant
// fault, and logs the first one.
func (p *Plugin) noteViolation(v *Violation) {
	p.stats.violations.Add(1)
	p.stats.faults[FaultGrant].Add(1)
	msg := v.Error()
	p.stats.lastFault.Store(&msg)
	if !p.loggedViolations.Swap(true) {
		p.logger.Warn("plugin output rejected, previous results kept", "kind", FaultGrant.String(), "reason", v.Reason)
	}
}

// noteBreaker logs a breaker transition.
func (p *Plugin) noteBreaker(state BreakerState, changed bool) {
	if !changed {
		return
	}
	switch state {
	case BreakerOpen:
		_, until := p.breaker.snapshot()
		p.stats.breakerOpens.Add(1)
		p.logger.Warn("plugin circuit open", "until", until.Format(time.RFC3339))
	case BreakerClosed:
		p.logger.Info("plugin circuit closed")
	}
}
