package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/config"
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
}

// Close releases the scanner's open files and the plugins' runtime.
func (p *Parts) Close(ctx context.Context) {
	if p.Pipeline != nil {
		p.Pipeline.Close()
	}
	if p.Plugins != nil {
		p.Plugins.Close(ctx)
	}
}

// Build turns a config into ready step objects: compiled rules, the tag
// runner, the redactor, the plugin host and the Pipeline. Rules DeepFlow
// would skip are logged once each and skipped, as DeepFlow does; version is
// the agent version put into every snapshot, epoch is "" for one-shot
// commands.
func Build(ctx context.Context, cfg *config.Config, logger hclog.Logger, version, epoch string) (*Parts, error) {
	set, ruleErrs := rules.Compile(cfg.Rules, os.LookupEnv)
	for _, e := range ruleErrs {
		logger.Warn("skipping rule, as DeepFlow does", "error", e.Error())
	}
	var runner *tags.Runner
	if len(cfg.TagExec) > 0 {
		r, err := tags.New(tags.Config{Command: cfg.TagExec, User: cfg.TagExecUser, Timeout: cfg.TagExecTimeout}, logger.Named("tags"))
		if err != nil {
			return nil, err
		}
		runner = r
	}
	red, err := redact.Compile(cfg.CmdlineRedact, !cfg.CmdlineRedactSet)
	if err != nil {
		return nil, fmt.Errorf("cmdline-redact: %w", err)
	}
	pt := &Parts{HostID: publish.HostID(cfg.HostID, "/")}
	if len(cfg.Plugins) > 0 || cfg.PluginDir != "" || len(cfg.Tenants) > 0 {
		root := cfg.ProcRoot
		h, err := wasmhost.New(ctx, wasmhost.Config{
			CacheDir:  WasmCacheDir(),
			Plugins:   cfg.Plugins,
			PluginDir: cfg.PluginDir,
			Tenants:   cfg.Tenants,
			DirsInRun: epoch != "", // the agent: drop-ins load in the background
			Limits:    cfg.PluginLimits,
			ReadEnv:   func(pid int) ([]string, error) { return scan.ReadEnviron(root, pid) },
		}, logger)
		if err != nil {
			return nil, err
		}
		pt.Plugins = h
	}
	hostname, _ := os.Hostname()
	pl, err := pipeline.New(pipeline.Config{
		Root:            cfg.ProcRoot,
		MinLifetime:     cfg.MinLifetime,
		FullRescanEvery: cfg.FullRescanEvery,
		Rules:           set,
		TaggedOnly:      cfg.SyncTaggedOnly,
		Tags:            runner,
		Plugins:         pt.Plugins,
		Redactor:        red,
		Host: snapshot.Host{
			HostID:       pt.HostID,
			Hostname:     hostname,
			Epoch:        epoch,
			IntervalMS:   cfg.SyncInterval.Milliseconds(),
			AgentVersion: version,
		},
	}, logger)
	if err != nil {
		pt.Close(ctx)
		return nil, err
	}
	pt.Pipeline = pl
	return pt, nil
}
