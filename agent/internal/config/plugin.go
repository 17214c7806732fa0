package config

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// pluginFields is the registry of a plugin's keys, in the plugins: list and
// in a NAME.yaml manifest.
func pluginFields(p *Plugin) []field {
	return []field{
		{name: "name", kind: "string", def: "",
			meaning: "unique name: letters, digits, `_`, `-` (a manifest's defaults to its file name)",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.pluginName(v, k, &p.Name) }},
		{name: "path", kind: "string", def: "",
			meaning: "the `.wasm` module, relative to the config file (a manifest's defaults to `NAME.wasm` beside it)",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.path(v, k, &p.Path) }},
		{name: "sha256", kind: "string", def: `""`,
			meaning: "pin: 64 hex digits of the module's SHA-256; a module that differs is refused",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.sha256(v, k, &p.SHA256) }},
		{name: "config", kind: "any", def: "",
			meaning: "passed to the plugin's init: a string verbatim, any other value as JSON",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.pluginConfig(v, k, &p.Config) }},
		{name: "capabilities", kind: "list of strings", def: "[tag]",
			meaning: "what the plugin may do: rename, tag, drop; [] refuses the plugin (it could do nothing)",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.set(v, k, capabilityNames, &p.Capabilities) }},
		{name: "tag-prefix", kind: "string", def: "",
			meaning: "prefix every tag key it sets must have (`A-Za-z0-9_.-/`, no `:`); required with the tag capability",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.tagPrefix(v, k, &p.TagPrefix) }},
		{name: "fields", kind: "list of strings", def: "[" + strings.Join(defaultPluginFields, ", ") + "]",
			meaning: "record fields it may read: any of " + strings.Join(fieldNames, ", ") + " (cmdline grants argv too; env is the environment variables); a plugin that lists none reads only the default, and `check` warns about it",
			decode: func(d *decoder, v *yaml.Node, k string) {
				p.FieldsSet = true
				d.set(v, k, fieldNames, &p.Fields)
			}},
		{name: "scope", kind: "mapping",
			meaning: "which processes it sees; all when absent",
			children: []field{
				{name: "uids", kind: "list of ints", def: "[]", meaning: "only processes of these uids; [] = any"},
				{name: "match-regex", kind: "string", def: `""`, meaning: "only processes whose match-type field matches this Go (RE2) regex; \"\" = any"},
				{name: "match-type", kind: "string", def: "process_name", meaning: "process_name or cmdline"},
			},
			decode: func(d *decoder, v *yaml.Node, k string) { d.mapping(v, k, scopeFields(&p.Scope)) }},
		{name: "timeout", kind: "duration", def: "100ms",
			meaning: "limit for one call, at most 10s (`\"100ms\"` or whole seconds)",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.duration(v, k, maxPluginTimeout, &p.Timeout) }},
		{name: "init-timeout", kind: "duration", def: "1s",
			meaning: "limit for starting one instance (its `_initialize`/`_start`, `proctag_abi_version` and `proctag_init`), at most 10s",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.duration(v, k, maxInitTimeout, &p.InitTimeout) }},
		{name: "tick-budget", kind: "duration", def: "1s",
			meaning: "total call time it may use in one tick, at most 60s; the records not reached are called in later ticks",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.duration(v, k, maxTickBudget, &p.TickBudget) }},
		{name: "memory-limit", kind: "size", def: "64MiB",
			meaning: "cap on the guest's memory (`\"64MiB\"`, `\"512KiB\"`, `\"1GiB\"` or bytes), rounded up to 64 KiB pages, at most 4GiB",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.memoryLimit(v, k, &p.MemoryLimitBytes) }},
		{name: "instances", kind: "int", def: "2",
			meaning: "instance pool size, 1 to 64",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxPluginInstances, &p.Instances) }},
	}
}

func scopeFields(s *Scope) []field {
	return []field{
		{name: "uids", decode: func(d *decoder, v *yaml.Node, k string) { d.uids(v, k, &s.UIDs) }},
		{name: "match-regex", decode: func(d *decoder, v *yaml.Node, k string) {
			var re string
			if !d.str(v, k, &re) {
				return
			}
			if _, err := regexp.Compile(re); err != nil {
				d.errorf(v, k, "%q is not a valid Go regex: %s", re, reError(err))
				return
			}
			s.MatchRegex = re
		}},
		{name: "match-type", decode: func(d *decoder, v *yaml.Node, k string) {
			d.oneOf(v, k, []string{"process_name", "cmdline"}, &s.MatchType)
		}},
	}
}

// plugins decodes the plugins: list; names must be unique.
func (d *decoder) plugins(v *yaml.Node, key string, c *Config) {
	v = resolve(v)
	if v.Kind != yaml.SequenceNode {
		d.bad(v, key, "a list of plugins")
		return
	}
	lines := make(map[string]int)
	for i, item := range v.Content {
		k := fmt.Sprintf("%s[%d]", key, i)
		item = resolve(item)
		if item.Kind != yaml.MappingNode {
			d.bad(item, k, "a plugin (a mapping with name, path, ...)")
			continue
		}
		p := d.plugin(item, k, "", defaultPlugin())
		if p.Name == "" {
			continue
		}
		if first, dup := lines[p.Name]; dup {
			d.errorf(item, k+".name", "%q is already the name of the plugin at line %d; names must be unique", p.Name, first)
			continue
		}
		lines[p.Name] = item.Line
		if !p.FieldsSet {
			d.warns = append(d.warns, Warning{File: d.file, Line: item.Line, Key: k + ".fields",
				Msg: fmt.Sprintf("not set: plugin %q may read only %s; list the fields it reads", p.Name, strings.Join(defaultPluginFields, ", "))})
		}
		c.Plugins = append(c.Plugins, p)
	}
}

// plugin decodes one plugin mapping over base (the values of absent keys)
// and checks what needs several keys. manifestName, when not "", is the
// name a manifest's file gives it.
func (d *decoder) plugin(n *yaml.Node, key, manifestName string, base Plugin) Plugin {
	p := base
	p.File, p.Line = d.file, n.Line
	errs := len(d.errs)
	d.mapping(n, key, pluginFields(&p))
	if len(d.errs) > errs {
		return p
	}
	switch {
	case manifestName != "" && p.Name == "":
		p.Name = manifestName
	case manifestName != "" && p.Name != manifestName:
		d.errorf(n, join(key, "name"), "%q is not %q, the name the manifest's file gives it; rename one", p.Name, manifestName)
	case p.Name == "":
		d.errorf(n, key, "name is missing; every plugin needs one")
	}
	if p.Path == "" {
		if manifestName == "" {
			d.errorf(n, key, "path is missing; give the .wasm module's path")
		} else {
			p.Path = filepath.Join(d.dir, p.Name+".wasm")
		}
	}
	if slices.Contains(p.Capabilities, "tag") && p.TagPrefix == "" {
		d.errorf(n, join(key, "tag-prefix"), "is missing; a plugin granted tag needs a tag key prefix")
	}
	return p
}

func (d *decoder) pluginName(v *yaml.Node, key string, dst *string) {
	var s string
	if !d.str(v, key, &s) {
		return
	}
	if len(s) > 64 || !isToken(s) {
		d.bad(v, key, "a plugin name of up to 64 letters, digits, _ and -")
		return
	}
	*dst = s
}

func (d *decoder) sha256(v *yaml.Node, key string, dst *string) {
	var s string
	if !d.str(v, key, &s) {
		return
	}
	if _, err := hex.DecodeString(s); s != "" && (err != nil || len(s) != 64) {
		d.bad(v, key, `a SHA-256 of 64 hex digits (or "" for no pin)`)
		return
	}
	*dst = strings.ToLower(s)
}

// validTagPrefix reports whether s is a valid tag key prefix:
// [A-Za-z0-9_.-/]+, so no ':' (DeepFlow's server drops keys with one).
func validTagPrefix(s string) bool {
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', strings.ContainsRune("_.-/", r):
		default:
			return false
		}
	}
	return s != ""
}

func (d *decoder) tagPrefix(v *yaml.Node, key string, dst *string) {
	var s string
	if !d.str(v, key, &s) {
		return
	}
	if len(s) > 128 || !validTagPrefix(s) {
		d.bad(v, key, "a tag key prefix of letters, digits, _ . - / (no :), up to 128 characters")
		return
	}
	*dst = s
}

// set decodes a list whose items are distinct members of allowed.
func (d *decoder) set(v *yaml.Node, key string, allowed []string, dst *[]string) {
	list, ok := d.strList(v, key)
	if !ok {
		return
	}
	seq := resolve(v)
	for i, s := range list {
		k := fmt.Sprintf("%s[%d]", key, i)
		if !slices.Contains(allowed, s) {
			d.bad(seq.Content[i], k, orList(allowed))
			ok = false
		} else if slices.Index(list, s) < i {
			d.errorf(seq.Content[i], k, "%q is listed twice", s)
			ok = false
		}
	}
	if ok {
		*dst = list
	}
}

func (d *decoder) uids(v *yaml.Node, key string, dst *[]int) {
	seq := resolve(v)
	if seq.Kind != yaml.SequenceNode {
		d.bad(seq, key, "a list of uids")
		return
	}
	var uids []int // nil when empty: [] = any uid, as when absent
	for i, item := range seq.Content {
		var uid int
		before := len(d.errs)
		d.intRange(item, fmt.Sprintf("%s[%d]", key, i), 0, 1<<32-2, &uid)
		if len(d.errs) == before {
			uids = append(uids, uid)
		}
	}
	*dst = uids
}
