package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/rules"
)

func load(t *testing.T, name string) (*Config, []Warning) {
	t.Helper()
	cfg, warns, err := Load(filepath.Join(repoRoot, "testdata/config", name))
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return cfg, warns
}

func parse(t *testing.T, yml string) (*Config, []Warning) {
	t.Helper()
	cfg, warns, err := Parse([]byte(yml), "/etc/proctag/proctag.yaml")
	if err != nil {
		t.Fatalf("Parse(%q): %v", yml, err)
	}
	return cfg, warns
}

func TestLoadMinimal(t *testing.T) {
	cfg, warns := load(t, "minimal.yaml")
	want := Default()
	want.File = filepath.Join(repoRoot, "testdata/config/minimal.yaml")
	want.ProcSyncEnabled = true
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got %+v\nwant %+v", *cfg, want)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
}

func TestLoadDeepFlowTypical(t *testing.T) {
	cfg, warns := load(t, "deepflow-typical.yaml")
	if !cfg.ProcSyncEnabled || !cfg.RulesSet || len(cfg.Rules) != 4 {
		t.Fatalf("enabled=%v rulesSet=%v rules=%d, want true true 4", cfg.ProcSyncEnabled, cfg.RulesSet, len(cfg.Rules))
	}
	want := rules.Spec{MatchRegex: `python3 (.*)\.py`, MatchType: "cmdline", Action: "accept", RewriteName: "$1-py-script", File: cfg.File, Line: 17,
		RegexLine: 17, TypeLine: 18, ActionLine: 19}
	if cfg.Rules[1] != want {
		t.Errorf("rule 1 = %+v, want %+v", cfg.Rules[1], want)
	}
	if cfg.Rules[0].MatchType != "" || cfg.Rules[0].Action != "drop" {
		t.Errorf("rule 0 = %+v, want omitted match-type kept empty and action drop", cfg.Rules[0])
	}
	if len(warns) != 1 {
		t.Fatalf("got %d warnings, want exactly one: %v", len(warns), warns)
	}
	w := warns[0].String()
	if !strings.HasSuffix(w, "deepflow-typical.yaml:6: static_config: ignoring keys proctag does not use here: log-file, guard-interval, l7-protocol-inference-max-fail-count, ebpf") {
		t.Errorf("warning = %q", w)
	}
}

func TestLoadDemo(t *testing.T) {
	cfg, warns := load(t, "demo.yaml")
	if !cfg.ProcSyncEnabled || cfg.SyncInterval != 5*time.Second || len(cfg.Rules) < 3 || len(warns) != 0 {
		t.Errorf("demo: enabled=%v interval=%v rules=%d warnings=%v", cfg.ProcSyncEnabled, cfg.SyncInterval, len(cfg.Rules), warns)
	}
	last := cfg.Rules[len(cfg.Rules)-1]
	if last.MatchRegex != ".*" || last.Action != "accept" {
		t.Errorf("demo's last rule = %+v, want an accept-all", last)
	}
}

func TestLoadFull(t *testing.T) {
	cfg, warns := load(t, "full.yaml")
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	dir := filepath.Join(repoRoot, "testdata/config")
	want := &Config{
		File:                  filepath.Join(dir, "full.yaml"),
		ProcSyncEnabled:       true,
		SyncTaggedOnly:        true,
		ProcRoot:              "/host/proc",
		SyncInterval:          30 * time.Second,
		MinLifetime:           0,
		TagExec:               []string{"cat", "/etc/proctag/tags.yaml"},
		TagExecUser:           "nobody",
		TagExecTimeout:        2500 * time.Millisecond,
		RulesSet:              true,
		FullRescanEvery:       12,
		EventsFullRescanEvery: 90,
		ClosedMax:             20000,
		AgentMemoryLimit:      256 << 20,
		AgentGCPercent:        50,
		ProcEvents:            ProcEventsOff,
		HostID:                "web-01",
		Network:               "vpc-prod/eu-west-1",
		LogLevel:              "debug",
		MetricsListen:         "127.0.0.1:9464",
		CmdlineRedact:         []string{`(?i)(password|token|secret)=\S+`},
		CmdlineRedactSet:      true,
		PluginDir:             "/etc/proctag/plugins.d",
		NATS: NATS{
			URL:           "tls://nats-1.example.net:4222,tls://nats-2.example.net:4222",
			SubjectPrefix: "acme.hosts",
			Creds:         "/etc/proctag/agent.creds",
			TLSCA:         "/etc/proctag/ca.pem", TLSCert: "/etc/proctag/agent.pem", TLSKey: "/etc/proctag/agent-key.pem",
			JetStream: true,
			JetStreamLimits: JetStreamLimits{MaxBytes: 4 << 30, MaxMsgSizeBytes: 512 << 10, MaxMsgsPerSubject: 64,
				MaxAge: 6 * time.Hour, Replicas: 3},
			FullEvery: 10,
		},
	}
	want.Rules = []rules.Spec{
		{MatchRegex: "^(sleep|bash)$", MatchType: "process_name", Action: "drop", File: want.File, Line: 12,
			RegexLine: 12, TypeLine: 13, ActionLine: 14},
		{MatchRegex: `python3 (.*)\.py`, MatchType: "cmdline", Action: "accept", RewriteName: "$1-py-%HOSTNAME%", File: want.File, Line: 16,
			RegexLine: 16, TypeLine: 17, ActionLine: 18},
	}
	want.Plugins = []Plugin{{
		Name: "jvm-name", Path: "/usr/lib/proctag/plugins/jvm-name.wasm",
		SHA256:       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Config:       []byte(`{"main-class-depth":2,"names":["spring","kafka"]}`),
		Capabilities: []string{"rename", "tag", "drop"}, TagPrefix: "jvm.",
		Fields: []string{"pid", "name", "process_name", "cmdline", "env"}, FieldsSet: true,
		Scope:   Scope{UIDs: []int{0, 1000}, MatchRegex: "^java$", MatchType: "process_name"},
		Timeout: 250 * time.Millisecond, InitTimeout: time.Second, TickBudget: time.Second,
		MemoryLimitBytes: 2 * wasmPageBytes, Instances: 4,
		File: want.File, Line: 28,
	}, {
		Name: "cmdb", Path: filepath.Join(dir, "plugins/cmdb.wasm"),
		Config:       []byte("services:\n  billing: team-a\n"),
		Capabilities: []string{"tag"}, TagPrefix: "cmdb/",
		Fields: []string{"pid", "ppid", "start_time", "name", "process_name", "cmdline", "exe", "uid", "user", "container_id", "cgroup", "tags"}, FieldsSet: true,
		Scope:   Scope{MatchType: "process_name"},
		Timeout: 100 * time.Millisecond, InitTimeout: 2 * time.Second, TickBudget: 500 * time.Millisecond,
		MemoryLimitBytes: 64 << 20, Instances: 2,
		File: want.File, Line: 44,
	}}
	want.PluginLimits = PluginLimits{
		MaxModuleBytes: 16 << 20, MaxFunctions: 20000, MaxFunctionBytes: 512 << 10, MaxNesting: 256,
		MaxLocals: 5000, MaxFunctionCost: 500000, MaxModuleCost: 4000000, MaxStackBytes: 1 << 20, MaxTableElements: 50000, CompileTimeout: time.Minute,
	}
	want.Tenants = []Tenant{{
		Name: "payments", PluginDir: filepath.Join(dir, "tenants/payments"), UIDs: []int{1001, 1002}, TagPrefix: "payments.",
		Capabilities: []string{"tag", "drop"}, Fields: []string{"pid", "name", "process_name", "cmdline", "env"},
		MemoryLimitBytes: 32 << 20, Timeout: 50 * time.Millisecond, InitTimeout: 500 * time.Millisecond, TickBudget: 250 * time.Millisecond,
		Instances: 1, MaxPlugins: 4, MaxModuleBytes: 8 << 20, AllowAnyOwner: true,
		File: want.File, Line: 65,
	}, {
		Name: "search", PluginDir: "/srv/tenants/search/plugins", UIDs: []int{1003}, TagPrefix: "search/",
		Capabilities: []string{"tag"}, Fields: defaultPluginFields,
		MemoryLimitBytes: 64 << 20, Timeout: 100 * time.Millisecond, InitTimeout: time.Second, TickBudget: time.Second,
		Instances: 2, MaxPlugins: 8, MaxModuleBytes: 16 << 20, // plugin-limits.max-module-size
		File: want.File, Line: 79,
	}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("full.yaml:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proctag.yaml")
	cfg, _, err := Load(path)
	if cfg != nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, %v; want nil and fs.ErrNotExist", cfg, err)
	}
	if want := path + ": read config: no such file or directory"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

// TestNullIsAbsent: a key written with no value keeps its default, as an
// omitted key does, and does not count as set.
func TestNullIsAbsent(t *testing.T) {
	cfg, _ := parse(t, "os-proc-root:\nos-proc-regex: ~\ncmdline-redact:\nnats:\nstatic_config:\n")
	want := Default()
	want.File = cfg.File
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got %+v, want defaults", *cfg)
	}
}

func TestEmptyDocumentIsDefault(t *testing.T) {
	for _, doc := range []string{"", "# only a comment\n", "---\n"} {
		cfg, warns := parse(t, doc)
		want := Default()
		want.File = cfg.File
		if !reflect.DeepEqual(*cfg, want) || len(warns) != 0 {
			t.Errorf("Parse(%q) = %+v %v, want defaults", doc, *cfg, warns)
		}
	}
}

func TestEmptyListsStaySet(t *testing.T) {
	cfg, _ := parse(t, "os-proc-regex: []\ncmdline-redact: []\n")
	if !cfg.RulesSet || cfg.Rules == nil || len(cfg.Rules) != 0 {
		t.Errorf("os-proc-regex: [] gave RulesSet=%v Rules=%#v, want set and empty", cfg.RulesSet, cfg.Rules)
	}
	if !cfg.CmdlineRedactSet || cfg.CmdlineRedact == nil || len(cfg.CmdlineRedact) != 0 {
		t.Errorf("cmdline-redact: [] gave Set=%v %#v, want set and empty (redaction off)", cfg.CmdlineRedactSet, cfg.CmdlineRedact)
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		name, yml string
		get       func(*Config) time.Duration
		want      time.Duration
	}{
		{"interval in whole seconds", "os-proc-socket-sync-interval: 1", func(c *Config) time.Duration { return c.SyncInterval }, time.Second},
		{"min-lifetime zero", "os-proc-socket-min-lifetime: 0", func(c *Config) time.Duration { return c.MinLifetime }, 0},
		{"tag exec timeout as Go duration", "os-app-tag-exec-timeout: 1m30s", func(c *Config) time.Duration { return c.TagExecTimeout }, 90 * time.Second},
		{"tag exec timeout as int seconds", "os-app-tag-exec-timeout: 7", func(c *Config) time.Duration { return c.TagExecTimeout }, 7 * time.Second},
		{"plugin timeout at the 10s limit", "plugins: [{name: p, path: p.wasm, tag-prefix: p., timeout: 10s}]", func(c *Config) time.Duration { return c.Plugins[0].Timeout }, 10 * time.Second},
		{"plugin init-timeout at the 10s limit", "plugins: [{name: p, path: p.wasm, tag-prefix: p., init-timeout: 10s}]", func(c *Config) time.Duration { return c.Plugins[0].InitTimeout }, 10 * time.Second},
		{"plugin init-timeout in ms", "plugins: [{name: p, path: p.wasm, tag-prefix: p., init-timeout: 250ms}]", func(c *Config) time.Duration { return c.Plugins[0].InitTimeout }, 250 * time.Millisecond},
		{"plugin tick-budget at the 60s limit", "plugins: [{name: p, path: p.wasm, tag-prefix: p., tick-budget: 60}]", func(c *Config) time.Duration { return c.Plugins[0].TickBudget }, time.Minute},
		{"plugin tick-budget default", "plugins: [{name: p, path: p.wasm, tag-prefix: p.}]", func(c *Config) time.Duration { return c.Plugins[0].TickBudget }, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := parse(t, tt.yml)
			if got := tt.get(cfg); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name, value string
		want        uint64
	}{
		{"MiB", "64MiB", 64 << 20},
		{"KiB rounded up to a page", "100KiB", 128 << 10},
		{"bytes rounded up to a page", "1", 64 << 10},
		{"space before the unit", `"1 GiB"`, 1 << 30},
		{"exactly the 4GiB cap", "4GiB", 4 << 30},
		{"plain bytes with B", "65536B", 64 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := parse(t, "plugins: [{name: p, path: p.wasm, tag-prefix: p., memory-limit: "+tt.value+"}]")
			if got := cfg.Plugins[0].MemoryLimitBytes; got != tt.want {
				t.Errorf("memory-limit %s = %d, want %d", tt.value, got, tt.want)
			}
		})
	}
}

func TestPluginConfigBytes(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"string passed verbatim", `"a: b"`, "a: b"},
		{"mapping as JSON", "{b: 1, a: [x, true, null]}", `{"a":["x",true,null],"b":1}`},
		{"int as JSON", "42", "42"},
		{"non-string keys become strings", "{1: one}", `{"1":"one"}`},
		{"hex int normalised", "0x10", "16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := parse(t, "plugins: [{name: p, path: p.wasm, tag-prefix: p., config: "+tt.value+"}]")
			if got := string(cfg.Plugins[0].Config); got != tt.want {
				t.Errorf("config %s = %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}

func TestNATSAuthAlternatives(t *testing.T) {
	tests := []struct {
		name, yml string
		want      NATS
	}{
		{"nkey seed relative to the config", "nats: {url: 'nats://h:4222', nkey-seed: agent.nk}", NATS{URL: "nats://h:4222", NKeySeed: "/etc/proctag/agent.nk"}},
		{"token", "nats: {url: 'h:4222', token: t0k}", NATS{URL: "h:4222", Token: "t0k"}},
		{"user and password", "nats: {url: 'wss://h', user: u, password: p}", NATS{URL: "wss://h", User: "u", Password: "p"}},
		{"embedded off", "nats: {embedded: {listen: ''}}", NATS{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := parse(t, tt.yml)
			want := tt.want
			want.SubjectPrefix, want.FullEvery, want.JetStreamLimits = "proctag", 30, DefaultJetStreamLimits()
			if tt.name != "embedded off" {
				want.EmbeddedListen = "127.0.0.1:4222"
			}
			if cfg.NATS != want {
				t.Errorf("got %+v, want %+v", cfg.NATS, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yml, want string
	}{
		{"string for a bool", "os-proc-sync-enabled: 'true'", `proctag.yaml:1: os-proc-sync-enabled: "true" is not a boolean (true or false)`},
		{"negative interval under static_config", "static_config:\n  os-proc-socket-sync-interval: -1", `proctag.yaml:2: static_config.os-proc-socket-sync-interval: -1 is not a whole number of seconds >= 1`},
		{"unknown key with a hint", "log-levle: info", `proctag.yaml:1: log-levle: unknown key (did you mean log-level?)`},
		{"unknown rule key at the top level lists allowed", "os-proc-regex: [{regex: x}]", `proctag.yaml:1: os-proc-regex[0].regex: unknown key; allowed: match-regex, match-type, action, rewrite-name`},
		{"rule key typo at the top level", "os-proc-regex: [{match-regx: x}]", `proctag.yaml:1: os-proc-regex[0].match-regx: unknown key (did you mean match-regex?)`},
		{"rule not a mapping", "os-proc-regex: [x]", `proctag.yaml:1: os-proc-regex[0]: "x" is not a rule (a mapping of match-regex, match-type, action, rewrite-name)`},
		{"bare - rule", "os-proc-regex:\n- {match-regex: x}\n-\n", `proctag.yaml:3: os-proc-regex[1]: "" is not a rule (a bare - is a null rule, which DeepFlow's agent refuses; {} is a rule of defaults)`},
		{"both places", "os-proc-root: /a\nstatic_config: {os-proc-root: /b}", `proctag.yaml:2: static_config.os-proc-root: also set at line 1 as os-proc-root; keep one`},
		{"static_config before top level", "static_config: {os-proc-root: /b}\nos-proc-root: /a", `proctag.yaml:2: os-proc-root: also set at line 1 as static_config.os-proc-root; keep one`},
		{"second document", "a: 1\n---\nb: 2", `proctag.yaml:2: a second YAML document starts here; a config is one document`},
		{"control character has no line from yaml", "a: \x01", `proctag.yaml:1: invalid YAML: control characters are not allowed`},
		{"merge keys", "base: &b {x: 1}\n<<: *b", `proctag.yaml:2: merge keys (<<) are not supported; write the keys out`},
		{"bad redact regex", "cmdline-redact: ['(']", "proctag.yaml:1: cmdline-redact[0]: \"(\" is not a valid Go regex: missing closing ): `(`"},
		{"manifest-only tag without prefix", "plugins: [{name: p, path: p.wasm}]", `proctag.yaml:1: plugins[0].tag-prefix: is missing; a plugin granted tag needs a tag key prefix`},
		{"network with a space", "network: 'vpc 1'", `proctag.yaml:1: network: "vpc 1" is not up to 128 letters, digits and . _ - : /`},
		{"int where a string is needed", "host-id: 12", `proctag.yaml:1: host-id: "12" is not a string (quote it to use it as one)`},
		{"plugin init-timeout over 10s", "plugins: [{name: p, path: p.wasm, tag-prefix: p., init-timeout: 11s}]", `proctag.yaml:1: plugins[0].init-timeout: "11s" is more than the limit of 10s`},
		{"plugin tick-budget over 60s", "plugins: [{name: p, path: p.wasm, tag-prefix: p., tick-budget: 61s}]", `proctag.yaml:1: plugins[0].tick-budget: "61s" is more than the limit of 1m0s`},
		{"jetstream replicas zero", "nats: {url: 'h:4222', jetstream-limits: {replicas: 0}}", `proctag.yaml:1: nats.jetstream-limits.replicas: 0 is not an integer from 1 to 5`},
		{"jetstream replicas over JetStream's 5", "nats: {url: 'h:4222', jetstream-limits: {replicas: 6}}", `proctag.yaml:1: nats.jetstream-limits.replicas: 6 is not an integer from 1 to 5`},
		{"jetstream replicas not a number", "nats: {url: 'h:4222', jetstream-limits: {replicas: three}}", `proctag.yaml:1: nats.jetstream-limits.replicas: "three" is not an integer`},
		{"jetstream replicas on the embedded server", "nats:\n  jetstream: true\n  jetstream-limits: {replicas: 3}", `proctag.yaml:1: nats.jetstream-limits.replicas: 3 needs a NATS cluster, and the embedded server (nats.url "") is one server; set nats.url to the cluster or replicas to 1`},
		{"events-full-rescan-every zero", "events-full-rescan-every: 0", `proctag.yaml:1: events-full-rescan-every: 0 is not an integer >= 1`},
		{"events-full-rescan-every not a number", "events-full-rescan-every: often", `proctag.yaml:1: events-full-rescan-every: "often" is not an integer`},
		{"plugin tick-budget zero", "plugins: [{name: p, path: p.wasm, tag-prefix: p., tick-budget: 0s}]", `proctag.yaml:1: plugins[0].tick-budget: "0s" is not a duration > 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.yml), "proctag.yaml")
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.yml)
			}
			lines := strings.Split(strings.TrimSpace(errorLines(t, err)), "\n")
			if !slices.Contains(lines, tt.want) {
				t.Errorf("errors:\n%s\nwant among them:\n%s", strings.Join(lines, "\n"), tt.want)
			}
		})
	}
}

func TestCapabilitiesWithoutTag(t *testing.T) {
	cfg, _ := parse(t, "plugins: [{name: renamer, path: r.wasm, capabilities: [rename]}]")
	p := cfg.Plugins[0]
	if !slices.Equal(p.Capabilities, []string{"rename"}) || p.TagPrefix != "" || p.Path != "/etc/proctag/r.wasm" {
		t.Errorf("got %+v, want rename only, no prefix needed, path beside the config", p)
	}
}

// TestRulesAsDeepFlowReadsThem checks the rule forms as they reach
// DeepFlow's agent from an agent-group config (the server reads it into
// optional fields and writes it out again; the agent's OsProcRegexp has
// #[serde(default)] String fields and no deny_unknown_fields): any
// scalar's text is a string, a null value is absent, {} is a rule of
// defaults, and under static_config an unknown key is ignored with a
// warning (at the top level it is an error, TestParseErrors).
func TestRulesAsDeepFlowReadsThem(t *testing.T) {
	cfg, warns := parse(t, "static_config:\n  os-proc-regex:\n"+
		"  - {match-regex: python, ignore: true}\n"+
		"  - {match-regex: 8080, rewrite-name: 5}\n"+
		"  - {match-regex: ~, rewrite-name: null}\n"+
		"  - {match-regex: true, action: , match-type: \"null\"}\n"+
		"  - {}\n")
	want := []rules.Spec{
		{MatchRegex: "python", RegexLine: 3},
		{MatchRegex: "8080", RewriteName: "5", RegexLine: 4},
		{MatchRegex: "", RewriteName: "", RegexLine: 5},
		{MatchRegex: "true", MatchType: "null", RegexLine: 6, ActionLine: 6, TypeLine: 6},
		{},
	}
	if len(cfg.Rules) != len(want) {
		t.Fatalf("%d rules, want %d: %+v", len(cfg.Rules), len(want), cfg.Rules)
	}
	for i, w := range want {
		got := cfg.Rules[i]
		got.File, got.Line = "", 0
		if got != w {
			t.Errorf("rule %d = %+v, want %+v", i, got, w)
		}
	}
	if len(warns) != 1 || warns[0].Line != 3 || !strings.Contains(warns[0].String(), "static_config.os-proc-regex[0].ignore: unknown rule key, ignored as DeepFlow ignores it") {
		t.Errorf("warnings = %v, want one for the unknown key on line 3", warns)
	}
}

// TestProcEvents decodes os-proc-events: the three modes, unquoted too, and
// an error naming file, line, key and the allowed values otherwise.
func TestProcEvents(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"", ProcEventsAuto},
		{"os-proc-events: auto\n", ProcEventsAuto},
		{"os-proc-events: on\n", ProcEventsOn},
		{"os-proc-events: off\n", ProcEventsOff},
	} {
		cfg, _, err := Parse([]byte(tt.yaml), "proctag.yaml")
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if cfg.ProcEvents != tt.want {
			t.Errorf("%q: os-proc-events %q, want %q", tt.yaml, cfg.ProcEvents, tt.want)
		}
	}
	_, _, err := Parse([]byte("\nos-proc-events: ebpf\n"), "proctag.yaml")
	if err == nil || !strings.Contains(err.Error(), "proctag.yaml:2: os-proc-events:") || !strings.Contains(err.Error(), "auto, on or off") {
		t.Errorf("os-proc-events: ebpf gave %v, want an error at proctag.yaml:2 allowing auto, on or off", err)
	}
}
