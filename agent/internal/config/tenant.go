package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Tenant is one entry of the tenants: list: a directory of drop-in plugins
// that another team maintains, and the ceilings the operator sets for them.
// A NAME.yaml manifest in PluginDir is parsed with ParseTenantManifest,
// which fills absent keys from the tenant and refuses any key asking for
// more. Read-only after load, like the rest of Config.
type Tenant struct {
	// Name identifies the tenant in logs, metrics and errors; unique,
	// letters, digits, '_' and '-', up to 64.
	Name string
	// PluginDir is plugin-dir, the tenant's directory of NAME.wasm +
	// NAME.yaml plugins, resolved against the config's directory; never
	// equal to, inside or around the operator's plugin-dir or another
	// tenant's.
	PluginDir string
	// UIDs is uids, never empty: the processes its plugins may see (every
	// plugin's scope.uids is a subset) and the owners its directory and
	// files may have (root always may).
	UIDs []int
	// TagPrefix is tag-prefix: every tag key its plugins set starts with
	// it.
	TagPrefix string
	// Capabilities is the most its plugins may be granted; default [tag].
	Capabilities []string
	// Fields is the most its plugins may read; default the plugins'
	// default grant (pid, name, process_name).
	Fields []string
	// MemoryLimitBytes is memory-limit, the most each plugin may ask for;
	// a multiple of the 64 KiB wasm page, default 64MiB.
	MemoryLimitBytes uint64
	// Timeout, InitTimeout and TickBudget are the most each plugin may ask
	// for as timeout (default 100ms), init-timeout (1s) and tick-budget
	// (1s).
	Timeout, InitTimeout, TickBudget time.Duration
	// Instances is the most instances each plugin may ask for; default 2.
	Instances int
	// MaxPlugins is max-plugins, the number of plugins loaded from
	// PluginDir at most; default 8.
	MaxPlugins int
	// MaxModuleBytes is max-module-size, the largest .wasm file read from
	// PluginDir; default plugin-limits.max-module-size, never more.
	MaxModuleBytes int64
	// AllowAnyOwner is allow-any-owner: when true PluginDir and its files
	// need not be owned by one of UIDs (or root).
	AllowAnyOwner bool
	// File and Line locate the tenant's entry, for messages.
	File string
	Line int
}

const (
	defaultTenantPlugins = 8
	maxTenantPlugins     = 1000
)

func defaultTenant() Tenant {
	p := defaultPlugin()
	return Tenant{
		Capabilities:     p.Capabilities,
		Fields:           p.Fields,
		MemoryLimitBytes: p.MemoryLimitBytes,
		Timeout:          p.Timeout,
		InitTimeout:      p.InitTimeout,
		TickBudget:       p.TickBudget,
		Instances:        p.Instances,
		MaxPlugins:       defaultTenantPlugins,
	}
}

// tenantFields is the registry of a tenants: entry's keys.
func tenantFields(t *Tenant) []field {
	return []field{
		{name: "name", kind: "string", def: "",
			meaning: "required, unique: letters, digits, `_`, `-`, up to 64",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.pluginName(v, k, &t.Name) }},
		{name: "plugin-dir", kind: "string", def: "",
			meaning: "required: its directory of `NAME.wasm` + `NAME.yaml` plugins, relative to the config file; not the operator's `plugin-dir`, another tenant's, or inside or around either",
			decode: func(d *decoder, v *yaml.Node, k string) {
				d.path(v, k, &t.PluginDir)
				if t.PluginDir == "" && isEmptyString(v) {
					d.errorf(v, k, `"" is not a directory path`)
				}
			}},
		{name: "uids", kind: "list of ints", def: "",
			meaning: "required, not empty: the uids of the processes its plugins may see, and of the owners its directory and files may have (root always may)",
			decode: func(d *decoder, v *yaml.Node, k string) {
				d.uids(v, k, &t.UIDs)
				if seq := resolve(v); seq.Kind == yaml.SequenceNode && len(seq.Content) == 0 {
					d.errorf(v, k, "[] is not allowed; list the uids whose processes its plugins may see")
				}
			}},
		{name: "tag-prefix", kind: "string", def: "",
			meaning: "required: every tag key its plugins set starts with this (`A-Za-z0-9_.-/`, no `:`); it and another tenant's may not start one another",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.tagPrefix(v, k, &t.TagPrefix) }},
		{name: "capabilities", kind: "list of strings", def: "[tag]",
			meaning: "the most its plugins may do: rename, tag, drop; [] none, so its plugins are refused",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.set(v, k, capabilityNames, &t.Capabilities) }},
		{name: "fields", kind: "list of strings", def: "[" + strings.Join(defaultPluginFields, ", ") + "]",
			meaning: "the most its plugins may read: any of the plugin `fields`; `env` only when listed",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.set(v, k, fieldNames, &t.Fields) }},
		{name: "memory-limit", kind: "size", def: "64MiB",
			meaning: "the most memory-limit each of its plugins may have, at most 4GiB",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.memoryLimit(v, k, &t.MemoryLimitBytes) }},
		{name: "timeout", kind: "duration", def: "100ms",
			meaning: "the most timeout each of its plugins may have, at most 10s",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.duration(v, k, maxPluginTimeout, &t.Timeout) }},
		{name: "init-timeout", kind: "duration", def: "1s",
			meaning: "the most init-timeout each of its plugins may have, at most 10s",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.duration(v, k, maxInitTimeout, &t.InitTimeout) }},
		{name: "tick-budget", kind: "duration", def: "1s",
			meaning: "the most tick-budget each of its plugins may have, at most 60s",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.duration(v, k, maxTickBudget, &t.TickBudget) }},
		{name: "instances", kind: "int", def: "2",
			meaning: "the most instances each of its plugins may have, 1 to 64",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxPluginInstances, &t.Instances) }},
		{name: "max-plugins", kind: "int", def: "8",
			meaning: "modules taken from its directory at most, in name order, 1 to 1000: one that fails to load counts too (each poll compiles at most this many), and those past it are left out; its modules are compiled in memory, never into the agent's on-disk compilation cache",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxTenantPlugins, &t.MaxPlugins) }},
		{name: "max-module-size", kind: "size", def: "",
			meaning: "largest `.wasm` file read from its directory, 1KiB up to `plugin-limits.max-module-size`, which is the default",
			decode: func(d *decoder, v *yaml.Node, k string) {
				d.size(v, k, minModuleBytes, maxModuleBytes, &t.MaxModuleBytes)
			}},
		{name: "allow-any-owner", kind: "bool", def: "false",
			meaning: "when true its directory and files need not be owned by one of its uids (or root)",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.boolean(v, k, &t.AllowAnyOwner) }},
	}
}

// isEmptyString reports whether v is the string "".
func isEmptyString(v *yaml.Node) bool {
	v = resolve(v)
	return v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value == ""
}

// tenants decodes the tenants: list. It runs after plugin-dir and
// plugin-limits (configFields decodes in registry order, whatever the
// file's order), so it checks the directories against the operator's and
// max-module-size against plugin-limits.max-module-size.
func (d *decoder) tenants(v *yaml.Node, key string, c *Config) {
	v = resolve(v)
	if v.Kind != yaml.SequenceNode {
		d.bad(v, key, "a list of tenants")
		return
	}
	lines := make(map[string]int)
	for i, item := range v.Content {
		k := fmt.Sprintf("%s[%d]", key, i)
		item = resolve(item)
		if item.Kind != yaml.MappingNode {
			d.bad(item, k, "a tenant (a mapping with name, plugin-dir, uids, tag-prefix, ...)")
			continue
		}
		t, ok := d.tenant(item, k, c.PluginLimits.MaxModuleBytes)
		if !ok {
			continue
		}
		if first, dup := lines[t.Name]; dup {
			d.errorf(item, k+".name", "%q is already the name of the tenant at line %d; names must be unique", t.Name, first)
			continue
		}
		if !d.apart(valueOf(item, "plugin-dir"), k+".plugin-dir", t.PluginDir, c) {
			continue
		}
		if !d.ownPrefix(valueOf(item, "tag-prefix"), k+".tag-prefix", t.TagPrefix, c.Tenants) {
			continue
		}
		lines[t.Name] = item.Line
		c.Tenants = append(c.Tenants, t)
	}
}

// tenant decodes one tenants: entry; ok is false after an error.
// maxModule is plugin-limits.max-module-size, the default and the most
// of max-module-size.
func (d *decoder) tenant(n *yaml.Node, key string, maxModule int64) (Tenant, bool) {
	t := defaultTenant()
	t.File, t.Line = d.file, n.Line
	errs := len(d.errs)
	d.mapping(n, key, tenantFields(&t))
	if len(d.errs) > errs {
		return t, false
	}
	if t.Name == "" {
		d.errorf(n, key, "name is missing; every tenant needs one")
	}
	if t.PluginDir == "" {
		d.errorf(n, key, "plugin-dir is missing; give the directory of its plugins")
	}
	if len(t.UIDs) == 0 {
		d.errorf(n, key, "uids is missing; list the uids whose processes its plugins may see")
	}
	if t.TagPrefix == "" {
		d.errorf(n, key, "tag-prefix is missing; every tag key its plugins set starts with it")
	}
	switch {
	case t.MaxModuleBytes == 0:
		t.MaxModuleBytes = maxModule
	case t.MaxModuleBytes > maxModule:
		d.errorf(valueOf(n, "max-module-size"), join(key, "max-module-size"), "%s is over plugin-limits.max-module-size, %s",
			describe(valueOf(n, "max-module-size")), formatSize(uint64(maxModule)))
	}
	return t, len(d.errs) == errs
}

// apart reports whether dir is apart from the operator's plugin-dir and
// the tenants already in c (neither equal nor one inside the other), and
// records an error if not: a tenant owning a directory above another's
// could replace it.
func (d *decoder) apart(v *yaml.Node, key, dir string, c *Config) bool {
	type other struct{ what, dir string }
	var others []other
	if c.PluginDir != "" {
		others = append(others, other{"plugin-dir, the operator's plugin directory", c.PluginDir})
	}
	for _, t := range c.Tenants {
		others = append(others, other{fmt.Sprintf("the plugin-dir of tenant %s (line %d)", t.Name, t.Line), t.PluginDir})
	}
	for _, o := range others {
		var rel string
		switch {
		case filepath.Clean(dir) == filepath.Clean(o.dir):
			rel = "is also"
		case within(dir, o.dir):
			rel = "is inside"
		case within(o.dir, dir):
			rel = "contains"
		default:
			continue
		}
		d.errorf(v, key, "%q %s %s %q; a tenant needs a directory of its own, apart from the others", dir, rel, o.what, o.dir)
		return false
	}
	return true
}

// ownPrefix reports whether prefix shares no tag key with the tag-prefix of
// a tenant already in tenants (neither starts with the other), and records
// an error if not: with overlapping prefixes one tenant's plugins could set
// or remove the tags another tenant's plugins set.
func (d *decoder) ownPrefix(v *yaml.Node, key, prefix string, tenants []Tenant) bool {
	for _, t := range tenants {
		if strings.HasPrefix(prefix, t.TagPrefix) || strings.HasPrefix(t.TagPrefix, prefix) {
			d.errorf(v, key, "%q overlaps the tag-prefix %q of tenant %s (line %d); tenants need prefixes that no key shares, so that none can change another's tags",
				prefix, t.TagPrefix, t.Name, t.Line)
			return false
		}
	}
	return true
}

// within reports whether path is strictly inside dir, lexically.
func within(path, dir string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != "." && filepath.IsLocal(rel)
}

// valueOf returns the value of key name in mapping n, or n itself when the
// key is absent, so that a message has a line either way.
func valueOf(n *yaml.Node, name string) *yaml.Node {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return n
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == name {
			return n.Content[i+1]
		}
	}
	return n
}

// ceiling returns the plugin a manifest-less file in the tenant's
// directory gets: every grant at the tenant's ceiling. Slices are copies.
func (t Tenant) ceiling() Plugin {
	return Plugin{
		Capabilities:     slices.Clone(t.Capabilities),
		TagPrefix:        t.TagPrefix,
		Fields:           slices.Clone(t.Fields),
		Scope:            Scope{UIDs: slices.Clone(t.UIDs), MatchType: "process_name"},
		Timeout:          t.Timeout,
		InitTimeout:      t.InitTimeout,
		TickBudget:       t.TickBudget,
		MemoryLimitBytes: t.MemoryLimitBytes,
		Instances:        t.Instances,
		Tenant:           t.Name,
	}
}
