package runner

import (
	"path/filepath"
	"slices"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/sandbox"
	"github.com/proctag/proctag/agent/internal/wasmhost"
)

// SandboxSpec maps a configured plugin (a plugins: entry or a parsed
// manifest) to the spec the sandbox loads: module, pin, init config,
// grant and limits. The config has filled in every default.
func SandboxSpec(p config.Plugin) sandbox.Spec {
	return sandbox.Spec{
		Name:         p.Name,
		Path:         p.Path,
		SHA256:       p.SHA256,
		Config:       slices.Clone(p.Config),
		Capabilities: slices.Clone(p.Capabilities),
		TagPrefix:    p.TagPrefix,
		Fields:       slices.Clone(p.Fields),
		Scope: sandbox.Scope{
			UIDs:       slices.Clone(p.Scope.UIDs),
			MatchRegex: p.Scope.MatchRegex,
			MatchType:  p.Scope.MatchType,
		},
		Timeout:          p.Timeout,
		InitTimeout:      p.InitTimeout,
		MemoryLimitBytes: p.MemoryLimitBytes,
		Instances:        p.Instances,
	}
}

// SandboxLimits maps plugin-limits to the sandbox's limits, field by
// field.
func SandboxLimits(l config.PluginLimits) sandbox.Limits {
	return sandbox.Limits{
		MaxModuleBytes:   l.MaxModuleBytes,
		MaxFunctions:     l.MaxFunctions,
		MaxFunctionBytes: l.MaxFunctionBytes,
		MaxNesting:       l.MaxNesting,
		MaxLocals:        l.MaxLocals,
		MaxFunctionCost:  l.MaxFunctionCost,
		MaxModuleCost:    l.MaxModuleCost,
		MaxStackBytes:    l.MaxStackBytes,
		MaxTableElements: l.MaxTableElements,
		CompileTimeout:   l.CompileTimeout,
	}
}

// pluginSpec maps a configured plugin to the plugin step's spec: the
// sandbox's and the tick budget.
func pluginSpec(p config.Plugin) wasmhost.PluginSpec {
	return wasmhost.PluginSpec{Spec: SandboxSpec(p), TickBudget: p.TickBudget}
}

// hostConfig maps the configuration's plugins, plugin-dir, tenants and
// plugin-limits to the plugin step's Config, with the manifest parsers of
// the directories: the operator's manifests take the config's plugin
// defaults (no manifest: those defaults with tag-prefix "NAME."), a
// tenant's are parsed within the tenant's ceiling.
func hostConfig(cfg *config.Config) wasmhost.Config {
	hc := wasmhost.Config{
		PluginDir:     cfg.PluginDir,
		ParseManifest: parseManifest,
		Limits:        SandboxLimits(cfg.PluginLimits),
	}
	for _, p := range cfg.Plugins {
		hc.Plugins = append(hc.Plugins, pluginSpec(p))
	}
	for _, t := range cfg.Tenants {
		hc.Tenants = append(hc.Tenants, wasmhost.Tenant{
			Name:           t.Name,
			PluginDir:      t.PluginDir,
			UIDs:           slices.Clone(t.UIDs),
			AllowAnyOwner:  t.AllowAnyOwner,
			MaxPlugins:     t.MaxPlugins,
			MaxModuleBytes: t.MaxModuleBytes,
			ParseManifest: func(file string, data []byte) (wasmhost.PluginSpec, error) {
				p, err := config.ParseTenantManifest(t, data, file)
				return pluginSpec(p), err
			},
		})
	}
	return hc
}

// parseManifest parses a manifest of the operator's plugin-dir; with none
// (data nil) the plugin gets the defaults and tag-prefix "NAME.".
func parseManifest(file string, data []byte) (wasmhost.PluginSpec, error) {
	if data == nil {
		name := filepath.Base(file[:len(file)-len(filepath.Ext(file))])
		data = []byte("tag-prefix: " + name + ".\n")
	}
	p, err := config.ParsePluginManifest(data, file)
	spec := pluginSpec(p)
	spec.DefaultFields = !p.FieldsSet
	return spec, err
}
