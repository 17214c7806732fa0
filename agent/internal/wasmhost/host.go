package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/agent/internal/sandbox"
)

// defaultPollInterval is how often Run looks at plugin-dir when
// Config.PollInterval is zero.
const defaultPollInterval = 2 * time.Second

// defaultStatusInterval is how often Run rewrites the tenants' status
// files when Config.StatusInterval is zero.
const defaultStatusInterval = 10 * time.Second

// Config is what New needs. The zero value is a host with no plugins.
type Config struct {
	// CacheDir holds wazero's compilation cache; "" keeps compiled code
	// in memory only (every agent start compiles again).
	CacheDir string
	// Plugins are the configured plugins, applied in this order. They are
	// loaded once; a changed config means a new Host (only PluginDir is
	// hot-reloaded).
	Plugins []PluginSpec
	// PluginDir is plugin-dir: NAME.wasm (+ optional NAME.yaml manifest)
	// drop-ins, applied after Plugins in name order and hot-reloaded by
	// Run; "" = none. It and its files must be owned by root or the
	// agent's user and not writable by group or others.
	PluginDir string
	// ParseManifest parses PluginDir's manifests (data nil when a module
	// has none); required with PluginDir.
	ParseManifest ManifestParser
	// Tenants are the tenants: each one's plugin-dir is loaded like
	// PluginDir, within the tenant's ceiling, and applied after it (tenants
	// in this order, each one's plugins by name). Their plugins are named
	// TENANT/NAME.
	Tenants []Tenant
	// PollInterval is how often Run looks at PluginDir; 0 = 2s.
	PollInterval time.Duration
	// DirsInRun defers loading PluginDir and the tenants' directories from
	// New to the start of Run, so that a slow module there never delays
	// the agent's first tick (the agent sets it; one-shot commands, which
	// never call Run, leave it false and get every plugin in New).
	DirsInRun bool
	// StatusInterval is how often, at most, Run rewrites each tenant's
	// StatusFile; 0 = 10s.
	StatusInterval time.Duration
	// Limits are plugin-limits: the structural limits every module is
	// checked against, its size and call stack; zero fields take the
	// sandbox's fallbacks.
	Limits sandbox.Limits
	// ReadEnv returns a process's environment ("K=V" strings), for plugins
	// granted the env field; nil = no environment for anyone. A vanished
	// process's error (fs.ErrNotExist, ESRCH) is not logged.
	ReadEnv func(pid int) ([]string, error)
}

// Host runs the plugins of one agent: it owns their runtimes, instance
// pools, result caches and counters. Apply, Stats and Run may be called
// concurrently; Apply calls are serialised.
type Host struct {
	cfg    Config
	logger hclog.Logger
	cache  *sandbox.Cache
	now    func() time.Time
	seed   maphash.Seed
	gens   atomic.Uint64

	// mu guards the fields below; Apply holds it for reading, a reload
	// swaps plugins under the write lock.
	mu         sync.RWMutex
	set        []*plugin // loaded plugins in Apply order
	loaded     map[string]*plugin
	configured []string // configured names, in order
	dirNames   []string // directory plugins' names, in Apply order
	counters   map[string]*counters
	loadErrs   map[string]string

	sources []*dirSource // Run's goroutine only (and New)

	// setGen counts the changes of the loaded set (rebuild); applied is
	// the setGen the last Apply ran with, and deferred is set when that
	// Apply left records for later ticks (the tick budget): see Settled.
	setGen, applied atomic.Uint64
	deferred        atomic.Bool

	applyMu      sync.Mutex
	tick         uint64
	results      map[string]map[Key]*entry
	envs         map[Key]*envEntry
	arena        []byte
	envErrLogged bool
}

// New starts a host and loads the configured plugins and those in
// PluginDir. A plugin that does not load (bad module, failed init) is
// logged and skipped, and shows in Stats with its error (sandbox.Check turns
// one into an error). New fails only for a configuration it cannot run:
// duplicate plugin names or an unreadable PluginDir.
func New(ctx context.Context, cfg Config, logger hclog.Logger) (*Host, error) {
	h := &Host{
		cfg:      cfg,
		logger:   logger.Named("wasmhost"),
		now:      time.Now,
		seed:     maphash.MakeSeed(),
		loaded:   make(map[string]*plugin),
		counters: make(map[string]*counters),
		loadErrs: make(map[string]string),
		sources:  newSources(cfg),
		results:  make(map[string]map[Key]*entry),
		envs:     make(map[Key]*envEntry),
	}
	cache, err := sandbox.OpenCache(cfg.CacheDir)
	if err != nil {
		h.logger.Warn("compilation cache unusable, compiling in memory only", "dir", cfg.CacheDir, "error", err)
	}
	h.cache = cache
	for _, p := range cfg.Plugins {
		if slices.Contains(h.configured, p.Name) {
			_ = h.cache.Close(ctx)
			return nil, fmt.Errorf("plugin %s: configured twice", p.Name)
		}
		h.configured = append(h.configured, p.Name)
		h.counters[p.Name] = &counters{}
	}
	for _, p := range cfg.Plugins {
		pl, err := h.load(ctx, p)
		h.mu.Lock()
		h.install(p.Name, pl, err)
		h.mu.Unlock()
	}
	if cfg.DirsInRun {
		// Only the directories' safety and readability, now: a plugin-dir
		// that cannot be used is still a configuration New refuses.
		for _, s := range h.sources {
			if err := checkSource(s); err != nil && s.tenant == nil {
				_ = h.Close(ctx)
				return nil, err
			}
		}
	} else if err := h.poll(ctx); err != nil {
		_ = h.Close(ctx)
		return nil, err
	}
	return h, nil
}

// load loads one plugin version with a new generation, through the
// host's compilation cache unless it is a tenant's: the cache keeps every
// version on disk, and a tenant rewriting its module would fill it.
func (h *Host) load(ctx context.Context, p PluginSpec) (*plugin, error) {
	h.mu.RLock()
	c := h.counters[p.Name]
	h.mu.RUnlock()
	tenant, _, _ := strings.Cut(p.Name, "/")
	if tenant == p.Name {
		tenant = "" // the operator's: a tenant's plugins are named TENANT/NAME
	}
	cache := h.cache
	if tenant != "" {
		cache = nil // compiled in memory, let go with the plugin
	}
	sp, err := sandbox.Load(ctx, p.Spec, sandbox.Env{
		Cache: cache, Limits: h.cfg.Limits, Logger: h.logger, Now: h.now, Counters: &c.Counters,
	})
	if err != nil {
		c.loadFailures.Add(1)
		return nil, err
	}
	c.loads.Add(1)
	budget := p.TickBudget
	if budget <= 0 {
		budget = fallbackTickBudget
	}
	return &plugin{
		Plugin: sp, name: p.Name, tenant: tenant, gen: h.gens.Add(1), tickBudget: budget,
		instances: sp.Spec().Instances, breaker: newBreaker(), stats: c,
		logger: h.logger.With("plugin", p.Name), defaultFields: p.DefaultFields,
	}, nil
}

// install records the outcome of a load of name under h.mu: a loaded
// plugin replaces the old version (returned, to be closed by the caller
// once no Apply uses it); a failed load keeps the old version serving.
func (h *Host) install(name string, pl *plugin, err error) (old *plugin) {
	if err != nil {
		h.loadErrs[name] = err.Error()
		if h.loaded[name] != nil {
			h.logger.Warn("plugin reload refused, previous version keeps serving", "plugin", name, "error", err)
		} else {
			h.logger.Error("plugin not loaded", "plugin", name, "error", err)
		}
		return nil
	}
	delete(h.loadErrs, name)
	old = h.loaded[name]
	h.loaded[name] = pl
	h.rebuild()
	h.logger.Info("plugin loaded", "plugin", name, "sha256", pl.SHA256(), "batch", pl.HasBatch())
	if pl.defaultFields {
		h.logger.Warn("plugin's manifest lists no fields: it reads only pid, name and process_name; list the fields it needs under fields",
			"plugin", name, "path", pl.Spec().Path)
	}
	return old
}

// Settled reports whether the results the last Apply gave stand as they
// are: no plugin was loaded, replaced or unloaded since, and that Apply
// left no record waiting for a later tick (the tick budget). A tick that
// would give the last state again without reading (the pipeline's Quiet)
// must read and Apply instead when it does not.
func (h *Host) Settled() bool {
	return h.setGen.Load() == h.applied.Load() && !h.deferred.Load()
}

// rebuild recomputes the Apply order under h.mu.
func (h *Host) rebuild() {
	h.setGen.Add(1)
	h.set = h.set[:0:0]
	for _, name := range h.order() {
		if p := h.loaded[name]; p != nil {
			h.set = append(h.set, p)
		}
	}
}

// order is the configured names, then the plugin-dir names.
func (h *Host) order() []string {
	return append(slices.Clip(h.configured), h.dirNames...)
}

// byName returns the loaded plugin called name, or nil.
func (h *Host) byName(name string) *plugin { return h.loaded[name] }

// Close unloads every plugin and closes the compilation cache. Call it
// after Run and Apply have returned.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, p := range h.loaded {
		errs = append(errs, p.Close(ctx))
	}
	clear(h.loaded)
	h.set = nil
	errs = append(errs, h.cache.Close(ctx))
	return errors.Join(errs...)
}
