package config

import (
	"fmt"
	"slices"
)

// deepflowGroupKeys are the top-level keys of a DeepFlow legacy (v6.1 to
// v6.6) agent-group config, the file `deepflow-ctl agent-group-config
// create -f` takes and `deepflow-ctl agent-group-config list -o yaml`
// prints. proctag does not use them; it accepts them at the top level with
// one warning, so that such a config can be used as it is. static_config is
// not listed: proctag reads DeepFlow's os-proc-* keys there.
//
// Source, in github.com/deepflowio/deepflow (sorted here):
//   - server/agent_config/config.go at commit 01cc3613: the yaml tags of
//     struct AgentGroupConfig, which the v6 server decodes the file into
//     (LCUUID is `yaml:"-"` and is left out);
//   - server/agent_config/example.yaml at commit 004fe6cc, the v6.6 agent
//     group config example (max_millicpus, sys_free_memory_metric), whose
//     only key missing from the struct above is sys_free_memory_metric;
//   - server/controller/model/agent_group_config_example.yaml at commit
//     038ba88e, the v6.1 example, whose keys are all in the struct.
//
// Sorted, so that lookups can binary-search; a test keeps it sorted.
var deepflowGroupKeys = []string{
	"analyzer_ip",
	"analyzer_port",
	"bandwidth_probe_interval",
	"capture_bpf",
	"capture_packet_size",
	"capture_socket_type",
	"collector_enabled",
	"collector_socket_type",
	"compressor_socket_type",
	"decap_type",
	"domains",
	"external_agent_http_proxy_enabled",
	"external_agent_http_proxy_port",
	"extra_netns_regex",
	"http_log_proxy_client",
	"http_log_span_id",
	"http_log_trace_id",
	"http_log_x_request_id",
	"if_mac_source",
	"inactive_ip_enabled",
	"inactive_server_port_enabled",
	"l4_log_collect_nps_threshold",
	"l4_log_ignore_tap_sides",
	"l4_log_tap_types",
	"l4_performance_enabled",
	"l7_log_collect_nps_threshold",
	"l7_log_ignore_tap_sides",
	"l7_log_packet_size",
	"l7_log_store_tap_types",
	"l7_metrics_enabled",
	"log_file_size",
	"log_level",
	"log_retention",
	"log_threshold",
	"max_collect_pps",
	"max_cpus",
	"max_escape_seconds",
	"max_memory",
	"max_millicpus",
	"max_npb_bps",
	"max_tx_bandwidth",
	"mtu",
	"nat_ip_enabled",
	"npb_dedup_enabled",
	"npb_socket_type",
	"npb_vlan_mode",
	"ntp_enabled",
	"output_vlan",
	"platform_enabled",
	"platform_sync_interval",
	"pod_cluster_internal_ip",
	"process_threshold",
	"proxy_controller_ip",
	"proxy_controller_port",
	"rsyslog_enabled",
	"so_plugins",
	"stats_interval",
	"sync_interval",
	"sys_free_memory_limit",
	"sys_free_memory_metric",
	"system_load_circuit_breaker_metric",
	"system_load_circuit_breaker_recover",
	"system_load_circuit_breaker_threshold",
	"tap_interface_regex",
	"tap_mode",
	"thread_threshold",
	"vm_xml_path",
	"vtap_flow_1s_enabled",
	"vtap_group_id",
	"vtap_group_lcuuid",
	"wasm_plugins",
}

// isDeepFlowGroupKey reports whether name is a top-level key of a DeepFlow
// legacy agent-group config that proctag ignores.
func isDeepFlowGroupKey(name string) bool {
	_, found := slices.BinarySearch(deepflowGroupKeys, name)
	return found
}

// suggestTop returns the did-you-mean hint for an unknown top-level key:
// the nearest proctag key (or static_config), else a DeepFlow agent-group
// key at most two edits away, else a pointer to the reference.
func suggestTop(name string, fields []field) string {
	names := make([]string, 0, len(fields)+1)
	for _, f := range fields {
		names = append(names, f.name)
	}
	names = append(names, "static_config")
	if best := nearest(name, names, max(2, len(name)/3+1)); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	if best := nearest(name, deepflowGroupKeys, 3); best != "" {
		return fmt.Sprintf(" (did you mean %s, a DeepFlow agent-group key proctag ignores?)", best)
	}
	return "; see the configuration reference"
}
