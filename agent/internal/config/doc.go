// Package config turns one proctag YAML file into a validated, read-only
// *Config. It owns every configuration key, its type, its default and the
// position (file and line) of every problem; it leaves the meaning of the
// values to the packages that use them.
//
// DeepFlow's os-proc-* and os-app-tag-* keys may sit at the top level or
// under static_config:, so that a DeepFlow agent-group config works as it
// is; other keys under static_config are ignored with one Warning, and so
// are the top-level keys of a DeepFlow legacy (v6.1 to v6.6) agent-group
// config such as vtap_group_id or max_memory (deepflow_keys.go lists them).
// Unknown keys anywhere else are errors, with a did-you-mean hint for a
// near miss. Parse and Load report every problem at once,
// as errors.Join of *Error values, each naming file, line, key, the bad value
// and what is allowed.
//
// os-proc-regex rules are kept as written (rules.Spec): a bad regex, action
// or match-type is not a config error here, because DeepFlow skips such a
// rule and the rules package reports it. A rule that is not a mapping, has a
// value of the wrong YAML type or an unknown key is a config error.
//
// A key whose value is YAML null (written with nothing after the colon) is
// treated as absent. Relative file paths in proctag's own keys (plugin-dir,
// plugins[].path, tenants[].plugin-dir, nats.creds, nats.nkey-seed,
// nats.tls.*) are resolved against the directory of the config file;
// DeepFlow's keys (os-proc-root, os-app-tag-exec) are kept as written, as
// DeepFlow does.
//
// Plugin grants come from the plugins: list, from NAME.yaml manifests in
// plugin-dir (ParsePluginManifest) and from manifests in a tenant's
// directory (ParseTenantManifest), where the operator's tenants: entry is
// the default and the ceiling of every key. Reading those directories
// safely is left to the dirtrust package, running the plugins to wasmhost.
//
// The key registry (fields.go) is the single table of keys, types, defaults
// and meanings; the README's configuration reference is generated from it.
package config
