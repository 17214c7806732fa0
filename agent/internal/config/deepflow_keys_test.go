package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/rules"
)

var snake = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// TestDeepFlowGroupKeysList: the list is sorted (isDeepFlowGroupKey
// binary-searches it), has no duplicates, is snake_case like DeepFlow's v6
// group keys, and shares no key with proctag's registry.
func TestDeepFlowGroupKeysList(t *testing.T) {
	if !slices.IsSorted(deepflowGroupKeys) || len(slices.Compact(slices.Clone(deepflowGroupKeys))) != len(deepflowGroupKeys) {
		t.Errorf("deepflowGroupKeys is not sorted or has duplicates")
	}
	for _, k := range deepflowGroupKeys {
		if !snake.MatchString(k) {
			t.Errorf("%q is not snake_case", k)
		}
		if _, ok := lookup(configFields(new(Config)), k); ok || k == "static_config" {
			t.Errorf("%q is also a proctag key", k)
		}
		if !isDeepFlowGroupKey(k) {
			t.Errorf("isDeepFlowGroupKey(%q) = false", k)
		}
	}
	for _, k := range []string{"", "os-proc-sync-enabled", "static_config", "max-memory", "vtap_group", "zzz"} {
		if isDeepFlowGroupKey(k) {
			t.Errorf("isDeepFlowGroupKey(%q) = true", k)
		}
	}
}

// TestLoadDeepFlowAgentGroup: a DeepFlow v6.5 agent-group config loads as
// it is, with exactly one warning for its group-level keys and one for the
// other static_config keys, and its os-proc-* values applied.
func TestLoadDeepFlowAgentGroup(t *testing.T) {
	cfg, warns := load(t, "deepflow-agent-group.yaml")
	file := filepath.Join(repoRoot, "testdata/config/deepflow-agent-group.yaml")

	want := Default()
	want.File = file
	want.ProcSyncEnabled = true
	want.ProcRoot = "/proc"
	want.SyncInterval = 15 * time.Second
	want.MinLifetime = 5 * time.Second
	want.TagExec = []string{"cat", "/etc/deepflow-agent/proc-tags.yaml"}
	want.TagExecUser = "deepflow"
	want.RulesSet = true
	want.Rules = []rules.Spec{
		{MatchRegex: `python3 (.*)\.py`, MatchType: "cmdline", Action: "accept", RewriteName: "$1-py-script", File: file, Line: 70, RegexLine: 70, TypeLine: 71, ActionLine: 72},
		{MatchRegex: `(?P<PROC_NAME>nginx)`, MatchType: "process_name", RewriteName: "${PROC_NAME}-%HOSTNAME%", File: file, Line: 74, RegexLine: 74, TypeLine: 75},
		{MatchRegex: "nginx", MatchType: "parent_process_name", Action: "accept", File: file, Line: 77, RegexLine: 77, TypeLine: 78, ActionLine: 79},
		{MatchRegex: ".*sleep.*", MatchType: "process_name", Action: "drop", File: file, Line: 80, RegexLine: 80, TypeLine: 81, ActionLine: 82},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("config\n%+v\nwant\n%+v", *cfg, want)
	}

	wantWarns := []Warning{
		{File: file, Line: 8, Msg: "ignoring DeepFlow agent-group keys proctag does not use: " +
			"vtap_group_id, max_cpus, max_memory, sys_free_memory_limit, max_collect_pps, max_npb_bps, " +
			"system_load_circuit_breaker_threshold, system_load_circuit_breaker_recover, system_load_circuit_breaker_metric, " +
			"log_threshold, log_level, thread_threshold, tap_interface_regex, capture_bpf, capture_packet_size, " +
			"capture_socket_type, tap_mode, decap_type, sync_interval, platform_sync_interval, max_escape_seconds, mtu, " +
			"collector_socket_type, http_log_proxy_client, http_log_x_request_id, http_log_trace_id, http_log_span_id, " +
			"l7_log_packet_size, platform_enabled, rsyslog_enabled, ntp_enabled, domains, l4_log_tap_types, " +
			"l7_log_store_tap_types, l7_log_ignore_tap_sides, wasm_plugins, so_plugins, " +
			"external_agent_http_proxy_enabled, external_agent_http_proxy_port"},
		{File: file, Line: 53, Key: "static_config", Msg: "ignoring keys proctag does not use here: " +
			"kubernetes-api-list-limit, kubernetes-poller-type, l7-log-session-aggr-timeout, ebpf, " +
			"guard-interval, check-core-file-disabled, ntp-max-interval"},
	}
	if !reflect.DeepEqual(warns, wantWarns) {
		t.Errorf("warnings:\n%s\nwant:\n%s", warnLines(warns), warnLines(wantWarns))
	}
}

func warnLines(warns []Warning) string {
	var b strings.Builder
	for _, w := range warns {
		b.WriteString(w.String() + "\n")
	}
	return b.String()
}

// TestDeepFlowGroupKeysAtTopLevel covers the top-level rules: DeepFlow's
// group keys are warned about once, in file order, and never hide an error;
// unknown keys stay errors, with a hint when they are near a key.
func TestDeepFlowGroupKeysAtTopLevel(t *testing.T) {
	tests := []struct {
		name      string
		yml       string
		wantErr   string // all error lines; "" = success
		wantWarns string // all warning lines
	}{
		{
			name:      "one group key",
			yml:       "os-proc-sync-enabled: true\nmax_memory: 768\n",
			wantWarns: "f.yaml:2: ignoring DeepFlow agent-group keys proctag does not use: max_memory\n",
		},
		{
			name: "warnings in line order",
			yml:  "static_config:\n  guard-interval: 10s\nvtap_group_id: g-1\nmtu: 1500\n",
			wantWarns: "f.yaml:1: static_config: ignoring keys proctag does not use here: guard-interval\n" +
				"f.yaml:3: ignoring DeepFlow agent-group keys proctag does not use: vtap_group_id, mtu\n",
		},
		{
			name:      "null value is still a known key",
			yml:       "capture_bpf:\nextra_netns_regex:\n",
			wantWarns: "f.yaml:1: ignoring DeepFlow agent-group keys proctag does not use: capture_bpf, extra_netns_regex\n",
		},
		{
			name:      "typo of a proctag key",
			yml:       "vtap_group_id: g-1\nos-proc-sync-enable: true\n",
			wantErr:   "f.yaml:2: os-proc-sync-enable: unknown key (did you mean os-proc-sync-enabled?)\n",
			wantWarns: "f.yaml:1: ignoring DeepFlow agent-group keys proctag does not use: vtap_group_id\n",
		},
		{
			name:    "snake_case spelling of a DeepFlow key",
			yml:     "os_proc_sync_enabled: true\n",
			wantErr: "f.yaml:1: os_proc_sync_enabled: unknown key (did you mean os-proc-sync-enabled?)\n",
		},
		{
			name:    "static_config misspelt",
			yml:     "static-config:\n  os-proc-sync-enabled: true\n",
			wantErr: "f.yaml:1: static-config: unknown key (did you mean static_config?)\n",
		},
		{
			name:    "typo of a group key",
			yml:     "max_memroy: 768\n",
			wantErr: "f.yaml:1: max_memroy: unknown key (did you mean max_memory, a DeepFlow agent-group key proctag ignores?)\n",
		},
		{
			name:    "group key in kebab-case",
			yml:     "tap-interface-regex: eth0\n",
			wantErr: "f.yaml:1: tap-interface-regex: unknown key (did you mean tap_interface_regex, a DeepFlow agent-group key proctag ignores?)\n",
		},
		{
			name:    "static_config key at the top level",
			yml:     "guard-interval: 10s\n",
			wantErr: "f.yaml:1: guard-interval: unknown key; see the configuration reference\n",
		},
		{
			name:      "group key given twice",
			yml:       "mtu: 1500\nmtu: 1400\n",
			wantErr:   "f.yaml:2: mtu: set twice (first at line 1); keep one\n",
			wantWarns: "f.yaml:1: ignoring DeepFlow agent-group keys proctag does not use: mtu\n",
		},
		{
			name:      "group key under static_config is just ignored",
			yml:       "static_config:\n  max_memory: 768\n",
			wantWarns: "f.yaml:1: static_config: ignoring keys proctag does not use here: max_memory\n",
		},
		{
			name: "typo of a DeepFlow key under static_config, on its own line",
			yml:  "static_config:\n  guard-interval: 10s\n  os-proc-sync-enabeld: true\n  os-app-tag-exec-usr: nobody\n",
			wantWarns: "f.yaml:1: static_config: ignoring keys proctag does not use here: guard-interval\n" +
				"f.yaml:3: static_config.os-proc-sync-enabeld: not a key proctag reads, ignored (did you mean os-proc-sync-enabled?)\n" +
				"f.yaml:4: static_config.os-app-tag-exec-usr: not a key proctag reads, ignored (did you mean os-app-tag-exec-user?)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, warns, err := Parse([]byte(tt.yml), "f.yaml")
			if got := errorLines(t, err); got != tt.wantErr {
				t.Errorf("errors:\n%s\nwant:\n%s", got, tt.wantErr)
			}
			if (cfg == nil) != (tt.wantErr != "") {
				t.Errorf("config = %v with error %v", cfg, err)
			}
			if got := warnLines(warns); got != tt.wantWarns {
				t.Errorf("warnings:\n%s\nwant:\n%s", got, tt.wantWarns)
			}
			for _, e := range unjoin(err) {
				if ce, ok := errors.AsType[*Error](e); ok && ce.Line == 0 {
					t.Errorf("error without a line: %v", ce)
				}
			}
		})
	}
}

// BenchmarkParseDeepFlowAgentGroup parses the whole v6.5 agent-group
// example, most of whose keys are DeepFlow's ignored ones.
func BenchmarkParseDeepFlowAgentGroup(b *testing.B) {
	path := filepath.Join(repoRoot, "testdata/config/deepflow-agent-group.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(data, path); err != nil {
			b.Fatal(err)
		}
	}
}
