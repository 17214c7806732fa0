package config

import (
	"slices"
	"time"

	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/snapshot"
)

// Config is a validated proctag configuration. Load and Parse return it
// ready to use; after that it is read-only and safe to share between
// goroutines. The yaml key of each field is in the key registry (fields.go)
// and in the README's configuration reference.
type Config struct {
	// File is the path the config was loaded from (the file name given to
	// Parse); it prefixes every error and warning.
	File string
	// ProcSyncEnabled is os-proc-sync-enabled, DeepFlow's master switch.
	ProcSyncEnabled bool
	// SyncTaggedOnly is os-proc-sync-tagged-only: publish only processes
	// that have at least one tag of their own.
	SyncTaggedOnly bool
	// ProcRoot is os-proc-root, the procfs mount (a fake tree in tests).
	ProcRoot string
	// SyncInterval is os-proc-socket-sync-interval (whole seconds in the
	// file), the time between ticks; at least one second.
	SyncInterval time.Duration
	// MinLifetime is os-proc-socket-min-lifetime (whole seconds in the
	// file): processes and sockets younger than this are not published.
	MinLifetime time.Duration
	// TagExec is os-app-tag-exec, an argv run without a shell; empty = off.
	TagExec []string
	// TagExecUser is os-app-tag-exec-user, the user TagExec runs as.
	TagExecUser string
	// TagExecTimeout is os-app-tag-exec-timeout, the limit for one run of
	// TagExec.
	TagExecTimeout time.Duration
	// Rules is os-proc-regex as written, with File and Line set per rule;
	// nil when the key is absent (the rules package then uses DeepFlow's
	// accept-all default). Regexes, actions and match-types are not checked
	// here.
	Rules []rules.Spec
	// RulesSet reports whether os-proc-regex was present (an empty list is
	// present).
	RulesSet bool
	// FullRescanEvery is full-rescan-every: the number of ticks between full
	// re-reads of every process (the ticks in between read only stat)
	// while polling, or while an event source is missing or failed.
	FullRescanEvery int
	// EventsFullRescanEvery is events-full-rescan-every: the number of
	// ticks between full re-reads while the process connector and the
	// eBPF TCP events are both healthy; FullRescanEvery applies otherwise.
	EventsFullRescanEvery int
	// ProcEvents is os-proc-events: ProcEventsAuto, ProcEventsOn or
	// ProcEventsOff, which event sources the agent uses besides polling
	// /proc.
	ProcEvents string
	// ClosedMax is closed-connections-max: how many short connections
	// (opened and closed between two ticks) one tick publishes at most.
	ClosedMax int
	// AgentMemoryLimit is agent-memory-limit: the Go runtime's soft memory
	// limit for the agent in bytes (GOMEMLIMIT semantics); 0 = none.
	AgentMemoryLimit int64
	// AgentGCPercent is agent-gc-percent: the Go runtime's GC percent for
	// proctag run (GOGC semantics).
	AgentGCPercent int
	// HostID is host-id; "" means /etc/machine-id, resolved by the caller.
	HostID string
	// Network is network: the address domain of the host's addresses
	// (e.g. a VPC), published in the host record; "" = none.
	Network string
	// LogLevel is log-level: trace, debug, info, warn or error.
	LogLevel string
	// MetricsListen is metrics-listen, a host:port for the Prometheus
	// endpoint; "" = off.
	MetricsListen string
	// CmdlineRedact is cmdline-redact, Go (RE2) regexes checked to compile;
	// nil when absent (the redact package's built-in defaults apply), empty
	// when set to [] (redaction off).
	CmdlineRedact []string
	// CmdlineRedactSet reports whether cmdline-redact was present.
	CmdlineRedactSet bool
	// PluginDir is plugin-dir, a directory of NAME.wasm + NAME.yaml drop-in
	// plugins; "" = off.
	PluginDir string
	// Plugins is the plugins: list, in order.
	Plugins []Plugin
	// PluginLimits is the plugin-limits: mapping, the structural limits
	// every plugin module (the operator's and tenants') is checked against.
	PluginLimits PluginLimits
	// Tenants is the tenants: list, in order: other teams' drop-in plugin
	// directories and the ceilings their manifests may not exceed.
	Tenants []Tenant
	// NATS is the nats: mapping.
	NATS NATS
}

// Plugin is one WebAssembly plugin and the grant the operator gives it,
// from the plugins: list or from a NAME.yaml manifest in plugin-dir.
type Plugin struct {
	// Name identifies the plugin in logs, metrics and errors; unique,
	// letters, digits, '_' and '-'.
	Name string
	// Path is the .wasm file, resolved against the config's (or the
	// manifest's) directory when relative.
	Path string
	// SHA256 pins the module's content: 64 lower-case hex digits, or "".
	SHA256 string
	// Config is passed to the plugin's init: a YAML string verbatim, any
	// other YAML value as JSON; nil when absent.
	Config []byte
	// Capabilities is what the plugin may do: a subset of rename, tag, drop.
	Capabilities []string
	// TagPrefix is the prefix every tag key the plugin sets must have;
	// required when "tag" is granted.
	TagPrefix string
	// Fields are the record fields the plugin may read.
	Fields []string
	// FieldsSet reports whether the plugin's entry or manifest listed
	// fields; without, Fields is the default grant.
	FieldsSet bool
	// Scope selects the processes the plugin is called for.
	Scope Scope
	// Timeout is the limit for one call.
	Timeout time.Duration
	// InitTimeout is the limit for starting one instance: its
	// _initialize or _start function, proctag_abi_version and proctag_init.
	InitTimeout time.Duration
	// TickBudget is the total call time the plugin may use in one tick;
	// the records it does not reach are called in later ticks.
	TickBudget time.Duration
	// MemoryLimitBytes caps the guest's linear memory; a multiple of the
	// 64 KiB wasm page.
	MemoryLimitBytes uint64
	// Instances is the size of the plugin's instance pool.
	Instances int
	// Tenant is the name of the tenant whose directory the plugin came
	// from (set by ParseTenantManifest); "" for the operator's plugins. It
	// is not a YAML key.
	Tenant string
	// File and Line locate the plugin's entry, for messages.
	File string
	Line int
}

// Scope selects the processes a plugin sees. The zero value selects every
// process; UIDs and MatchRegex both apply when both are set.
type Scope struct {
	// UIDs, when not empty, limits the plugin to processes of these uids.
	UIDs []int
	// MatchRegex, when not "", limits the plugin to processes whose
	// MatchType field matches it (Go RE2 syntax, unanchored).
	MatchRegex string
	// MatchType is process_name or cmdline.
	MatchType string
}

// NATS is where and how snapshots are published.
type NATS struct {
	// URL is the server (or comma-separated servers); "" = the embedded one.
	URL string
	// SubjectPrefix starts every subject: <prefix>.v1.<host_id>.snapshot.
	SubjectPrefix string
	// EmbeddedListen is the embedded server's host:port; "" disables it.
	EmbeddedListen string
	// Creds and NKeySeed are file paths; Token, User and Password are
	// literal credentials. At most one method is set.
	Creds, NKeySeed, Token, User, Password string
	// TLSCA, TLSCert and TLSKey are PEM file paths; cert and key go
	// together.
	TLSCA, TLSCert, TLSKey string
	// JetStream keeps the last full snapshot per host in a stream.
	JetStream bool
	// JetStreamLimits bounds that stream (nats.jetstream-limits).
	JetStreamLimits JetStreamLimits
	// FullEvery is the number of ticks between full snapshots.
	FullEvery int
}

// Default plugin grant values, also used by ParsePluginManifest.
const (
	defaultPluginTimeout   = 100 * time.Millisecond
	maxPluginTimeout       = 10 * time.Second
	defaultInitTimeout     = time.Second
	maxInitTimeout         = 10 * time.Second
	defaultTickBudget      = time.Second
	maxTickBudget          = 60 * time.Second
	defaultPluginMemory    = 64 << 20
	maxPluginMemory        = 4 << 30
	wasmPageBytes          = 64 << 10
	defaultPluginInstances = 2
	maxPluginInstances     = 64
)

// Capability and field names a plugin grant may list.
var (
	capabilityNames = []string{"rename", "tag", "drop"}
	fieldNames      = []string{"pid", "ppid", "start_time", "name", "process_name", "cmdline", "exe", "uid", "user", "container_id", "cgroup", "tags", "env"}
	// defaultPluginFields is the grant of a plugin that lists no fields
	// (abi.FieldsDefault).
	defaultPluginFields = []string{"pid", "name", "process_name"}
)

// Default returns the configuration used for every key the file leaves out:
// DeepFlow's defaults for its keys, proctag's for the rest.
func Default() Config {
	return Config{
		ProcRoot:              "/proc",
		SyncInterval:          10 * time.Second,
		MinLifetime:           3 * time.Second,
		TagExecUser:           "deepflow",
		TagExecTimeout:        5 * time.Second,
		FullRescanEvery:       6,
		EventsFullRescanEvery: 60,
		ProcEvents:            ProcEventsAuto,
		ClosedMax:             50000,
		AgentMemoryLimit:      DefaultAgentMemoryLimit,
		AgentGCPercent:        DefaultAgentGCPercent,
		LogLevel:              "info",
		PluginLimits:          DefaultPluginLimits(),
		NATS: NATS{
			SubjectPrefix:   snapshot.DefaultSubjectPrefix,
			EmbeddedListen:  "127.0.0.1:4222",
			JetStreamLimits: DefaultJetStreamLimits(),
			FullEvery:       30,
		},
	}
}

func defaultPlugin() Plugin {
	return Plugin{
		Capabilities:     []string{"tag"},
		Fields:           slices.Clone(defaultPluginFields),
		Scope:            Scope{MatchType: "process_name"},
		Timeout:          defaultPluginTimeout,
		InitTimeout:      defaultInitTimeout,
		TickBudget:       defaultTickBudget,
		MemoryLimitBytes: defaultPluginMemory,
		Instances:        defaultPluginInstances,
	}
}
