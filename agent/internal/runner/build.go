package runner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/fditer"
	"github.com/proctag/proctag/agent/internal/pipeline"
	"github.com/proctag/proctag/agent/internal/publish"
	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/scan"
	"github.com/proctag/proctag/agent/internal/tags"
	"github.com/proctag/proctag/agent/internal/wasmhost"
	"github.com/proctag/proctag/agent/snapshot"
)

// LoadConfig reads path, or returns the defaults when path is empty, and
// logs the config's warnings.
func LoadConfig(path string, logger hclog.Logger) (*config.Config, error) {
	if path == "" {
		c := config.Default()
		return &c, nil
	}
	cfg, warns, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	for _, w := range warns {
		logger.Warn("config", "warning", w.String())
	}
	return cfg, nil
}

// WasmCacheDir is where wazero keeps compiled plugins between runs: under
// $CACHE_DIRECTORY (or else $STATE_DIRECTORY) when systemd set it, as the
// unit's CacheDirectory= and StateDirectory= do, so that the agent writes
// only where ProtectSystem=strict lets it; otherwise /var/cache/proctag
// for root and the user's cache directory for anyone else.
func WasmCacheDir() string {
	if d := systemdDir("CACHE_DIRECTORY"); d != "" {
		return filepath.Join(d, "wasm")
	}
	if d := systemdDir("STATE_DIRECTORY"); d != "" {
		return filepath.Join(d, "wasm-cache")
	}
	if os.Geteuid() == 0 {
		return "/var/cache/proctag/wasm"
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "proctag", "wasm")
	}
	return filepath.Join(os.TempDir(), "proctag-wasm")
}

// systemdDir is the first directory of the environment variable name, as
// systemd sets $STATE_DIRECTORY and $CACHE_DIRECTORY (absolute paths,
// colon-separated when the unit names several); "" when unset or not
// absolute.
func systemdDir(name string) string {
	first, _, _ := strings.Cut(os.Getenv(name), ":")
	if !filepath.IsAbs(first) {
		return ""
	}
	return filepath.Clean(first)
}

// Parts are the step objects built from one config. Close releases them.
type Parts struct {
	// Pipeline runs the ticks.
	Pipeline *pipeline.Pipeline
	// Plugins is the wasm host, nil without plugins; its Run does the hot
	// reload and belongs to whoever runs the agent.
	Plugins *wasmhost.Host
	// HostID is the resolved, sanitised host id.
	HostID string
	// fds is the BPF descriptor dump the pipeline's walks use, nil when
	// it is off or could not be opened (see useFDIter).
	fds *fditer.Iter
}

// Close releases the scanner's open files and the plugins' runtime.
func (p *Parts) Close(ctx context.Context) {
	if p.Pipeline != nil {
		p.Pipeline.Close()
	}
	if p.Plugins != nil {
		p.Plugins.Close(ctx)
	}
	if p.fds != nil {
		p.fds.Close()
	}
}

// Build turns a config into ready step objects: compiled rules, the tag
// runner, the redactor, the plugin host and the Pipeline. It is Assemble
// for the commands that run the pipeline: it fails with every fatal
// problem at once (errors.Join of Problem); rules DeepFlow would skip are
// logged once each and skipped, as DeepFlow does, a tag command that
// cannot be found is logged, and a plugin that does not load is logged by
// the plugin host and left out. version is the agent version put into
// every snapshot, epoch is "" for one-shot commands.
func Build(ctx context.Context, cfg *config.Config, logger hclog.Logger, version, epoch string) (*Parts, error) {
	agentMemory.apply(cfg.AgentMemoryLimit, logger)
	pt, rep := Assemble(ctx, cfg, logger, version, epoch)
	if err := rep.Fatal(); err != nil {
		return nil, err
	}
	for _, p := range rep.Problems {
		switch p.Part {
		case PartRules:
			logger.Warn("skipping rule, as DeepFlow does", "error", p.Error())
		case PartTagExec:
			logger.Warn("os-app-tag-exec will fail every tick", "error", p.Error())
		}
	}
	if cfg.ProcEvents != config.ProcEventsOff {
		pt.useFDIter(cfg.ProcRoot, logger)
	}
	return pt, nil
}

// useFDIter gives the pipeline the BPF dump of every process's socket
// descriptors (package fditer), which a tick that walks many fd/
// directories (the first, and each full re-read) reads instead of a
// readlinkat per descriptor. Where it cannot be loaded (no privilege, no
// BTF, a proc root of another pid namespace) the walks stay, and the
// reason is logged.
func (p *Parts) useFDIter(root string, logger hclog.Logger) {
	if root == "" {
		root = "/proc"
	}
	it, err := fditer.Open(root)
	if err != nil {
		logger.Info("fd iterator off: fd/ directories are walked", "reason", err)
		return
	}
	p.fds = it
	p.Pipeline.UseFDs(it)
	logger.Info("fd iterator on: the first tick and full re-reads take the socket descriptors from one BPF dump")
}

// Assemble is the one path from a config to the step objects, shared by
// Build (run, scan, explain) and Check: it builds every step, even after
// one failed, and reports every problem it meets on the way, each naming
// file, line and key where they are known, and a plugin whose init fails
// with what the plugin logged about it. The Parts are nil when a problem
// is fatal (what was built is closed); otherwise the caller closes them.
// Assemble logs nothing of its own; logger goes to the steps it builds.
func Assemble(ctx context.Context, cfg *config.Config, logger hclog.Logger, version, epoch string) (*Parts, *Report) {
	rep := &Report{}
	set, ruleErrs := rules.Compile(cfg.Rules, os.LookupEnv)
	for _, e := range ruleErrs {
		rep.add(PartRules, false, e)
	}
	for _, w := range set.Lint() {
		rep.Warnings = append(rep.Warnings, w.String())
	}
	var runner *tags.Runner
	if len(cfg.TagExec) > 0 {
		r, err := tags.New(tags.Config{Command: cfg.TagExec, User: cfg.TagExecUser, Timeout: cfg.TagExecTimeout}, logger.Named("tags"))
		if err != nil {
			rep.addf(PartTagExec, true, "%s: os-app-tag-exec: %w", cfg.File, err)
		}
		runner = r
		if err := findProgram(cfg.TagExec[0]); err != nil {
			rep.addf(PartTagExec, false, "%s: os-app-tag-exec[0]: %w", cfg.File, err)
		}
	}
	red, err := redact.Compile(cfg.CmdlineRedact, !cfg.CmdlineRedactSet)
	if err != nil {
		rep.addf(PartRedact, true, "%s: cmdline-redact: %w", cfg.File, err)
	}
	pt := &Parts{HostID: publish.HostID(cfg.HostID, "/")}
	pt.Plugins = plugins(ctx, cfg, logger, epoch != "", rep)
	hostname, _ := os.Hostname()
	pl, err := pipeline.New(pipeline.Config{
		Root:                  cfg.ProcRoot,
		MinLifetime:           cfg.MinLifetime,
		FullRescanEvery:       cfg.FullRescanEvery,
		EventsFullRescanEvery: cfg.EventsFullRescanEvery,
		SockDiag:              cfg.ProcEvents != config.ProcEventsOff,
		Rules:                 set,
		TaggedOnly:            cfg.SyncTaggedOnly,
		Tags:                  runner,
		Plugins:               pt.Plugins,
		Redactor:              red,
		Host: snapshot.Host{
			HostID:       pt.HostID,
			Hostname:     hostname,
			Epoch:        epoch,
			IntervalMS:   cfg.SyncInterval.Milliseconds(),
			AgentVersion: version,
			Network:      cfg.Network,
		},
	}, logger)
	if err != nil {
		rep.addf(PartProcs, true, "%s: os-proc-root: %w", cfg.File, err)
	}
	pt.Pipeline = pl
	if rep.Fatal() != nil {
		pt.Close(ctx)
		return nil, rep
	}
	return pt, rep
}

// findProgram checks that os-app-tag-exec's program can be run: a path
// must be an executable file, a bare name must be found in $PATH, as
// exec.Command looks it up.
func findProgram(name string) error {
	_, err := exec.LookPath(name)
	return err
}

// plugins starts the plugin host, nil without plugins, and reports every
// plugin that did not load with its position in the config and, for a
// failed init, what the plugin logged. inRun defers the plugin
// directories to the host's Run, as the agent does.
func plugins(ctx context.Context, cfg *config.Config, logger hclog.Logger, inRun bool, rep *Report) *wasmhost.Host {
	if len(cfg.Plugins) == 0 && cfg.PluginDir == "" && len(cfg.Tenants) == 0 {
		return nil
	}
	root := cfg.ProcRoot
	var said guestLines
	hc := hostConfig(cfg)
	hc.CacheDir = WasmCacheDir()
	hc.DirsInRun = inRun // the agent: drop-ins load in the background
	hc.ReadEnv = func(pid int) ([]string, error) { return scan.ReadEnviron(root, pid) }
	h, err := wasmhost.New(ctx, hc, said.logger(logger))
	if err != nil {
		rep.addf(PartPlugins, true, "%s: %w", cfg.File, err)
		return nil
	}
	index := make(map[string]int, len(cfg.Plugins))
	for i, p := range cfg.Plugins {
		index[p.Name] = i
	}
	for _, ps := range h.Stats().Plugins {
		tenant, _, inTenant := strings.Cut(ps.Name, "/")
		i, configured := index[ps.Name]
		if ps.Loaded {
			lp := LoadedPlugin{Name: ps.Name}
			switch {
			case inTenant:
				lp.Source = "tenant " + tenant
			case !configured:
				lp.Source = "plugin-dir"
			}
			rep.Plugins = append(rep.Plugins, lp)
			continue
		}
		why := ps.LoadError
		if lines := said.of(ps.Name); len(lines) > 0 {
			why += "; the plugin logged: " + quoteAll(lines)
		}
		switch {
		case configured:
			p := cfg.Plugins[i]
			rep.addf(PartPlugins, false, "%s:%d: plugins[%d]: %s", p.File, p.Line, i, why)
		case inTenant:
			rep.addf(PartPlugins, false, "%s: tenant %s: plugin-dir %s: %s", cfg.File, tenant, tenantDir(cfg, tenant), why)
		default:
			rep.addf(PartPlugins, false, "%s: plugin-dir %s: %s", cfg.File, cfg.PluginDir, why)
		}
	}
	return h
}

// tenantDir is the plugin directory of the tenant called name.
func tenantDir(cfg *config.Config, name string) string {
	for _, t := range cfg.Tenants {
		if t.Name == name {
			return t.PluginDir
		}
	}
	return ""
}

// quoteAll quotes each line and joins them with " | ".
func quoteAll(lines []string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = strconv.Quote(l)
	}
	return strings.Join(q, " | ")
}
