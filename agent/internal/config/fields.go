package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/proctag/proctag/agent/internal/rules"
	"gopkg.in/yaml.v3"
)

// field is one row of the key registry: a key, its documented type, default
// and meaning, and how to decode it. The registry drives decoding, the
// README's configuration reference and the test that checks both against
// Default().
type field struct {
	name    string
	kind    string // type as documented
	def     string // default as a YAML value; "" = absent by default
	meaning string
	// deepflow marks DeepFlow's keys, which may also sit under static_config.
	deepflow bool
	// children are a mapping's keys, for the reference.
	children []field
	decode   func(d *decoder, v *yaml.Node, key string)
}

func lookup(fields []field, name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// configFields is the registry of top-level keys, decoding into c.
func configFields(c *Config) []field {
	return []field{
		{name: "os-proc-sync-enabled", kind: "bool", def: "false", deepflow: true,
			meaning: "master switch: `proctag run` scans and publishes only when true (`scan` and `check` ignore it)",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.boolean(v, k, &c.ProcSyncEnabled) }},
		{name: "os-proc-sync-tagged-only", kind: "bool", def: "false", deepflow: true,
			meaning: "publish only processes that have at least one tag of their own",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.boolean(v, k, &c.SyncTaggedOnly) }},
		{name: "os-proc-root", kind: "string", def: "/proc", deepflow: true,
			meaning: "procfs mount to scan (any directory, e.g. a fake tree)",
			decode: func(d *decoder, v *yaml.Node, k string) {
				if d.str(v, k, &c.ProcRoot) && c.ProcRoot == "" {
					d.errorf(v, k, `"" is not a directory path`)
				}
			}},
		{name: "os-proc-socket-sync-interval", kind: "int (seconds)", def: "10", deepflow: true,
			meaning: "seconds between ticks; at least 1",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.seconds(v, k, 1, &c.SyncInterval) }},
		{name: "os-proc-socket-min-lifetime", kind: "int (seconds)", def: "3", deepflow: true,
			meaning: "processes and sockets younger than this many seconds are not published; at least 0",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.seconds(v, k, 0, &c.MinLifetime) }},
		{name: "os-app-tag-exec", kind: "list of strings", def: "[]", deepflow: true,
			meaning: "argv (no shell) run every tick; its stdout is YAML `- pid: N` / `tags: [{key: k, value: v}]`; empty = off",
			decode: func(d *decoder, v *yaml.Node, k string) {
				list, ok := d.strList(v, k)
				if ok && len(list) > 0 && list[0] == "" {
					d.errorf(v, k+"[0]", `"" is not a command; give the program to run first`)
					return
				}
				if ok && len(list) > 0 {
					c.TagExec = list
				}
			}},
		{name: "os-app-tag-exec-user", kind: "string", def: "deepflow", deepflow: true,
			meaning: "user `os-app-tag-exec` runs as (setuid/setgid when proctag runs as root)",
			decode: func(d *decoder, v *yaml.Node, k string) {
				if d.str(v, k, &c.TagExecUser) && c.TagExecUser == "" {
					d.errorf(v, k, `"" is not a user name`)
				}
			}},
		{name: "os-app-tag-exec-timeout", kind: "duration", def: "5s", deepflow: true,
			meaning: "limit for one run of `os-app-tag-exec` (`\"5s\"`, `\"500ms\"` or whole seconds); proctag's addition, also allowed under static_config",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.duration(v, k, 0, &c.TagExecTimeout) }},
		{name: "os-proc-regex", kind: "list of rules", deepflow: true,
			meaning:  "process rules in DeepFlow's legacy semantics, first match decides (keys below); absent = one accept-all rule, a list gets an accept-all rule appended",
			children: ruleFields(new(rules.Spec)),
			decode:   func(d *decoder, v *yaml.Node, k string) { d.rules(v, k, c) }},
		{name: "full-rescan-every", kind: "int", def: "6",
			meaning: "ticks between full re-reads of every process and every socket owner's `fd/` (the ticks between read only `stat`, and everything of a new process or of one whose comm changed) when polling, or when an event source of `os-proc-events` is missing or failed (see `events-full-rescan-every`); at least 1",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxInt32, &c.FullRescanEvery) }},
		{name: "events-full-rescan-every", kind: "int", def: "60",
			meaning: "ticks between full re-reads while the process connector and eBPF TCP events are both healthy (`os-proc-events`): quiet and busy ticks count, exec and uid events re-read their process at once, and `full-rescan-every` applies again while a source is missing or failed (a tick that lost events reads everything at once); a full re-read is then a safety net for what no event reports (argv rewrites, cgroup, root and namespace moves, passwd changes, sockets passed or closed by one of their holders, UDP sockets and interface addresses during quiet stretches), which can stay unpublished this long; at least 1",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxInt32, &c.EventsFullRescanEvery) }},
		{name: "os-proc-events", kind: "string", def: "auto",
			meaning: "event sources besides polling /proc: `auto` = each of these where it opens: sock_diag netlink for the socket tables (else `/proc/PID/net`); the process connector, whose fork and exec events read the new process at once and wake a tick within a second (a process is still published only once older than min-lifetime, one that exits first is published once with `exited`); eBPF TCP events (root, or CAP_BPF and CAP_PERFMON), which publish short connections in `closed`; a BPF iterator (the same privileges) that lists every process's socket descriptors in one pass for the first tick and each full re-read, instead of a readlinkat per descriptor under /proc/PID/fd (on a proc root whose pids are the kernel's; `on` does not require it); with the process connector and eBPF both healthy, a tick with no event, nothing waiting for min-lifetime, no tag command and no plugin result pending (a plugin reloaded, records the tick budget put off) publishes the last state again without reading /proc (a full re-read every events-full-rescan-every ticks still reads everything and counts what the events missed); `on` = the same, but `proctag run` refuses to start when any of the three cannot be opened; `off` = `/proc` text at the interval only",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.oneOf(v, k, procEventModes, &c.ProcEvents) }},
		{name: "closed-connections-max", kind: "int", def: "50000",
			meaning: "most short TCP connections (opened and closed between two ticks, seen by eBPF) one tick publishes in `closed`; the rest are counted in `closed_dropped`; 0 publishes none",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 0, maxInt32, &c.ClosedMax) }},
		{name: "agent-memory-limit", kind: "size", def: "128MiB",
			meaning: "soft limit on the agent's own memory, as the Go runtime's GOMEMLIMIT (which wins when set in the environment): the garbage collector runs more often as the agent nears it, so the resident set stays near the larger of this and what the state needs (the agent warns once when its live heap passes three quarters of it); plugins' linear memory is outside it; 0 = none, else 16MiB to 1024GiB",
			decode: func(d *decoder, v *yaml.Node, k string) {
				n, ok := d.sizeValue(v, k)
				switch {
				case !ok:
				case n != 0 && (n < minAgentMemoryLimit || n > maxAgentMemoryLimit):
					d.bad(v, k, "0 (no limit) or a size from 16MiB to 1024GiB")
				default:
					c.AgentMemoryLimit = int64(n)
				}
			}},
		{name: "agent-gc-percent", kind: "int", def: "10",
			meaning: "how far `proctag run`'s heap may grow past what the last garbage collection kept before the next one, in percent, as the Go runtime's GOGC (which wins when set in the environment): a steady tick allocates almost nothing, so a low value keeps the resident set near its live state for little CPU (10k processes and 100k sockets polled every second, one minute: 80–81 MiB peak and 37 collections at 10, 86 MiB and 25 at 25, 99 MiB and 7 at Go's default of 100, the agent's CPU the same within the machine's noise); `agent-memory-limit` still applies; 10 to 1000",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 10, 1000, &c.AgentGCPercent) }},
		{name: "host-id", kind: "string", def: `""`,
			meaning: "host id in NATS subjects and messages; \"\" = `/etc/machine-id`",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.str(v, k, &c.HostID) }},
		{name: "network", kind: "string", def: `""`,
			meaning: "the address domain this host's addresses belong to (a VPC's or site's name), published in the host record so that subscribers do not confuse equal private addresses of hosts in different networks; \"\" = none; up to 128 letters, digits and `.` `_` `-` `:` `/`",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.network(v, k, &c.Network) }},
		{name: "log-level", kind: "string", def: "info",
			meaning: "trace, debug, info, warn or error",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.oneOf(v, k, logLevels, &c.LogLevel) }},
		{name: "metrics-listen", kind: "string", def: `""`,
			meaning: "host:port of the Prometheus `/metrics` endpoint; \"\" = off",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.hostPort(v, k, &c.MetricsListen) }},
		{name: "cmdline-redact", kind: "list of regexes",
			meaning: "Go (RE2) regexes whose matches are masked in published cmdlines; absent = built-in defaults, `[]` = off",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.redact(v, k, c) }},
		{name: "plugin-dir", kind: "string", def: `""`,
			meaning: "directory of drop-in plugins (`NAME.wasm` with an optional `NAME.yaml` manifest holding the plugin keys below), watched for changes; \"\" = off",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.path(v, k, &c.PluginDir) }},
		{name: "plugins", kind: "list of plugins",
			meaning:  "WebAssembly plugins run in order after the rules (keys below)",
			children: pluginFields(new(Plugin)),
			decode:   func(d *decoder, v *yaml.Node, k string) { d.plugins(v, k, c) }},
		{name: "plugin-limits", kind: "mapping",
			meaning:  "structural limits every plugin module is checked against before it is compiled (keys below)",
			children: pluginLimitsFields(&c.PluginLimits),
			decode:   func(d *decoder, v *yaml.Node, k string) { d.mapping(v, k, pluginLimitsFields(&c.PluginLimits)) }},
		// tenants comes after plugin-dir and plugin-limits, which it checks
		// against.
		{name: "tenants", kind: "list of tenants",
			meaning:  "other teams' drop-in plugin directories, each with ceilings its plugins' manifests cannot exceed (keys below)",
			children: tenantFields(new(Tenant)),
			decode:   func(d *decoder, v *yaml.Node, k string) { d.tenants(v, k, c) }},
		{name: "nats", kind: "mapping",
			meaning:  "where snapshots are published (keys below)",
			children: natsFields(&c.NATS),
			decode:   func(d *decoder, v *yaml.Node, k string) { d.mapping(v, k, natsFields(&c.NATS)) }},
	}
}

const maxInt32 = 1<<31 - 1

// DefaultAgentGCPercent is agent-gc-percent's default.
const DefaultAgentGCPercent = 10

// Bounds and default of agent-memory-limit.
const (
	DefaultAgentMemoryLimit = 128 << 20
	minAgentMemoryLimit     = 16 << 20
	maxAgentMemoryLimit     = 1 << 40
)

var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// os-proc-events values.
const (
	ProcEventsAuto = "auto"
	ProcEventsOn   = "on"
	ProcEventsOff  = "off"
)

var procEventModes = []string{ProcEventsAuto, ProcEventsOn, ProcEventsOff}

// ruleFields is the registry of os-proc-regex entry keys.
func ruleFields(s *rules.Spec) []field {
	// str decodes a rule value into dst as it reaches DeepFlow's agent
	// from an agent-group config: any scalar's text, so `match-regex:
	// 8080` is "8080"; a null value (`null`, `~`, or none) is absent, "",
	// since the DeepFlow server reads the group config into optional
	// fields (yaml.v2, *string with omitempty) and writes it out again
	// without them. It notes the value's line in line.
	str := func(dst *string, line *int) func(d *decoder, v *yaml.Node, k string) {
		return func(d *decoder, v *yaml.Node, k string) {
			v = resolve(v)
			if line != nil {
				*line = v.Line
			}
			switch {
			case isNull(v):
				*dst = ""
			case v.Kind != yaml.ScalarNode:
				d.bad(v, k, "a string")
			default:
				*dst = v.Value
			}
		}
	}
	return []field{
		{name: "match-regex", kind: "string", def: `""`, decode: str(&s.MatchRegex, &s.RegexLine),
			meaning: "regex (Rust `regex` dialect, unanchored); omitted = \"\", which matches everything"},
		{name: "match-type", kind: "string", def: `""`, decode: str(&s.MatchType, &s.TypeLine),
			meaning: "process_name (\"\"), cmdline, parent_process_name or tag"},
		{name: "action", kind: "string", def: `""`, decode: str(&s.Action, &s.ActionLine),
			meaning: "accept (\"\") or drop"},
		{name: "rewrite-name", kind: "string", def: `""`, decode: str(&s.RewriteName, nil),
			meaning: "replacement template (`$1`, `${name}`, `%ENV%`) for process_name and cmdline rules; \"\" = keep process_name"},
	}
}

// rules decodes os-proc-regex. Only the shape is checked here; regexes,
// actions and match-types are left to the rules package, because DeepFlow
// skips such a rule instead of refusing the config.
func (d *decoder) rules(v *yaml.Node, key string, c *Config) {
	v = resolve(v)
	if v.Kind != yaml.SequenceNode {
		d.bad(v, key, "a list of rules")
		return
	}
	c.RulesSet = true
	c.Rules = make([]rules.Spec, 0, len(v.Content))
	for i, item := range v.Content {
		k := fmt.Sprintf("%s[%d]", key, i)
		item = resolve(item)
		s := rules.Spec{File: d.file, Line: item.Line}
		switch {
		case isNull(item):
			// A bare `-` (or `- null`): the DeepFlow server writes the
			// group config out again with a null rule, which DeepFlow's
			// agent cannot read as a rule, so it refuses the whole config.
			d.bad(item, k, "a rule (a bare - is a null rule, which DeepFlow's agent refuses; {} is a rule of defaults)")
			continue
		case item.Kind != yaml.MappingNode:
			d.bad(item, k, "a rule (a mapping of match-regex, match-type, action, rewrite-name)")
			continue
		default:
			d.ruleMapping(item, k, ruleFields(&s))
		}
		c.Rules = append(c.Rules, s)
	}
}

func (d *decoder) redact(v *yaml.Node, key string, c *Config) {
	list, ok := d.strList(v, key)
	if !ok {
		return
	}
	seq := resolve(v)
	for i, re := range list {
		if _, err := regexp.Compile(re); err != nil {
			d.errorf(seq.Content[i], fmt.Sprintf("%s[%d]", key, i), "%q is not a valid Go regex: %s", re, reError(err))
			return
		}
	}
	c.CmdlineRedact = list
	c.CmdlineRedactSet = true
}

// reError shortens a regexp error to its reason.
func reError(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// suggest returns a did-you-mean hint for an unknown key.
func suggest(name string, fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	if best := nearest(name, names, max(2, len(name)/3+1)); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	if len(names) <= 12 {
		return "; allowed: " + strings.Join(names, ", ")
	}
	return "; see the configuration reference"
}

// nearest returns the first of names closest to name, if that is fewer
// than limit edits away; "" otherwise, and for names too long to be a typo
// of a key.
func nearest(name string, names []string, limit int) string {
	if len(name) > 64 {
		return ""
	}
	best := ""
	for _, n := range names {
		if dist := editDistance(name, n); dist < limit {
			best, limit = n, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short key names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
