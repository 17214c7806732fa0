package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ParseTenantManifest parses a plugin manifest, the NAME.yaml file beside
// NAME.wasm in tenant t's plugin-dir, with the keys and errors of
// ParsePluginManifest, but against t's ceilings:
//
//   - a key the manifest leaves out takes t's value, not the global default
//     (capabilities, fields, tag-prefix, memory-limit, timeout,
//     init-timeout, tick-budget, instances, and scope.uids from t.UIDs);
//   - a key asking for more than t allows is an error naming the file, the
//     line, the key, what it asked and what t allows; nothing is clamped;
//   - path must stay inside the manifest's directory (relative, no ..).
//
// data nil (no manifest) gives exactly t's ceiling. The Plugin returned has
// Tenant set to t.Name, a non-empty Scope.UIDs within t.UIDs and a
// TagPrefix that starts with t.TagPrefix. t must come from a parsed Config;
// file is the manifest's path in t.PluginDir. Errors are errors.Join of
// *Error, every violation at once, like Parse's.
func ParseTenantManifest(t Tenant, data []byte, file string) (Plugin, error) {
	if t.Name == "" || len(t.UIDs) == 0 || t.TagPrefix == "" {
		return Plugin{}, &Error{File: file, Msg: fmt.Sprintf("tenant %q has no name, uids or tag-prefix; it must come from a parsed config", t.Name)}
	}
	d := &decoder{file: file, dir: filepath.Dir(file)}
	name, root, ok := d.manifest(data)
	if !ok {
		return Plugin{}, d.err()
	}
	p := d.plugin(root, "", name, t.ceiling())
	d.ceilings(t, root)
	if err := d.err(); err != nil {
		return Plugin{}, err
	}
	return p, nil
}

// ceilings checks every key the manifest root sets against tenant t. A
// value that does not decode is skipped: decoding has reported it.
func (d *decoder) ceilings(t Tenant, root *yaml.Node) {
	seen := make(map[string]bool)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := resolve(root.Content[i]), root.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" || seen[k.Value] || isNull(v) {
			continue
		}
		key := k.Value
		seen[key] = true
		switch key {
		case "capabilities":
			d.subsetOf(t, v, key, capabilityNames, t.Capabilities)
		case "fields":
			d.subsetOf(t, v, key, fieldNames, t.Fields)
		case "tag-prefix":
			var s string
			if d.quiet(func(q *decoder) { q.tagPrefix(v, key, &s) }) && !strings.HasPrefix(s, t.TagPrefix) {
				d.errorf(v, key, "%q does not start with tenant %s's prefix %q", s, t.Name, t.TagPrefix)
			}
		case "memory-limit":
			var n uint64
			if d.quiet(func(q *decoder) { q.memoryLimit(v, key, &n) }) && n > t.MemoryLimitBytes {
				d.over(t, v, key, resolve(v).Value, formatSize(t.MemoryLimitBytes))
			}
		case "timeout":
			d.durationCeiling(t, v, key, maxPluginTimeout, t.Timeout)
		case "init-timeout":
			d.durationCeiling(t, v, key, maxInitTimeout, t.InitTimeout)
		case "tick-budget":
			d.durationCeiling(t, v, key, maxTickBudget, t.TickBudget)
		case "instances":
			var n int
			if d.quiet(func(q *decoder) { q.intRange(v, key, 1, maxPluginInstances, &n) }) && n > t.Instances {
				d.over(t, v, key, strconv.Itoa(n), strconv.Itoa(t.Instances))
			}
		case "scope":
			if uids := valueOf(v, "uids"); uids != resolve(v) && !isNull(uids) {
				d.uidsCeiling(t, uids, "scope.uids")
			}
		case "path":
			var s string
			if d.quiet(func(q *decoder) { q.str(v, key, &s) }) && s != "" && (!filepath.IsLocal(s) || filepath.Clean(s) == ".") {
				d.errorf(v, key, "%q is not a path inside tenant %s's plugin-dir (a relative path without ..)", s, t.Name)
			}
		}
	}
}

// quiet runs decode on a scratch decoder and reports whether it found the
// value valid; its errors are dropped (the real decoding reports them).
func (d *decoder) quiet(decode func(q *decoder)) bool {
	q := &decoder{file: d.file, dir: d.dir}
	decode(q)
	return len(q.errs) == 0
}

// over reports a value above the tenant's ceiling.
func (d *decoder) over(t Tenant, v *yaml.Node, key, asked, ceiling string) {
	d.errorf(v, key, "%s is over tenant %s's ceiling of %s", asked, t.Name, ceiling)
}

func (d *decoder) durationCeiling(t Tenant, v *yaml.Node, key string, hi, ceiling time.Duration) {
	var dur time.Duration
	if d.quiet(func(q *decoder) { q.duration(v, key, hi, &dur) }) && dur > ceiling {
		d.over(t, v, key, dur.String(), ceiling.String())
	}
}

// subsetOf checks that every item of a capabilities or fields list is in
// the tenant's ceiling.
func (d *decoder) subsetOf(t Tenant, v *yaml.Node, key string, allowed, ceiling []string) {
	var list []string
	if !d.quiet(func(q *decoder) { q.set(v, key, allowed, &list) }) {
		return
	}
	seq := resolve(v)
	for i, s := range list {
		if !slices.Contains(ceiling, s) {
			d.errorf(seq.Content[i], fmt.Sprintf("%s[%d]", key, i), "%q is not allowed for tenant %s (its ceiling: %s)", s, t.Name, listOrNone(ceiling))
		}
	}
}

// uidsCeiling checks scope.uids: not [] (any uid) and each one of the
// tenant's.
func (d *decoder) uidsCeiling(t Tenant, v *yaml.Node, key string) {
	var uids []int
	if !d.quiet(func(q *decoder) { q.uids(v, key, &uids) }) {
		return
	}
	if len(uids) == 0 {
		d.errorf(v, key, "[] means any uid, more than tenant %s's uids (%s); list some of them or leave the key out", t.Name, joinInts(t.UIDs))
		return
	}
	seq := resolve(v)
	for i, uid := range uids {
		if !slices.Contains(t.UIDs, uid) {
			d.errorf(seq.Content[i], fmt.Sprintf("%s[%d]", key, i), "%d is not one of tenant %s's uids (%s)", uid, t.Name, joinInts(t.UIDs))
		}
	}
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

func joinInts(list []int) string {
	s := make([]string, len(list))
	for i, n := range list {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
