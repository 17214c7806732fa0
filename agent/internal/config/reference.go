package config

import (
	"fmt"
	"strings"

	"github.com/proctag/proctag/agent/internal/rules"
)

// reference renders the key registry as the README's "Configuration
// reference" block (Markdown). The README test keeps the two in sync.
func reference() string {
	var b strings.Builder
	b.WriteString("Generated from the key registry in `agent/internal/config/fields.go` " +
		"(`go test ./agent/internal/config -update` rewrites this block). " +
		"Keys marked DeepFlow may sit at the top level or under `static_config:` " +
		"(other keys under `static_config` are ignored with one warning). " +
		"The other top-level keys of a DeepFlow v6 agent-group config (`vtap_group_id`, `max_memory`, " +
		"`tap_interface_regex`, … as listed in `agent/internal/config/deepflow_keys.go`) are ignored with one warning too, " +
		"so such a config can be used as it is; unknown keys elsewhere are errors. " +
		"A key with a null value counts as absent. Relative paths in proctag's own file keys " +
		"are resolved against the config file's directory. Errors read " +
		"`file:line: key: value is not what is allowed`, all of them at once.\n\n")

	b.WriteString("### Top-level keys\n\n")
	table(&b, configFields(new(Config)), "")

	b.WriteString("\n### `os-proc-regex` entries\n\n" +
		"Kept as written; a bad regex, action or match-type makes DeepFlow skip the rule, " +
		"so `proctag check` reports it and `run`/`scan` warn and skip it. Read as they reach DeepFlow's agent " +
		"from an agent-group config: a value is any scalar's text (`match-regex: 8080` is \"8080\"), a null " +
		"value (`null`, `~` or none) is absent (\"\"), a bare `-` is an error (`{}` is a rule of defaults), and " +
		"under `static_config` an unknown key is ignored with a warning (at the top level it is an error, as " +
		"every unknown key there).\n\n")
	table(&b, ruleFields(new(rules.Spec)), "")

	b.WriteString("\n### `plugins` entries and `plugin-dir` manifests\n\n")
	table(&b, pluginFields(new(Plugin)), "")

	b.WriteString("\n### `tenants` entries\n\n" +
		"A tenant is another team's `plugin-dir` with ceilings the operator sets. The `NAME.yaml` manifests " +
		"in it have the plugin keys above: a key left out takes the tenant's value (scope.uids its `uids`), " +
		"a key asking for more than the tenant's value is an error (never lowered silently), and `path` must " +
		"stay inside the directory. A `NAME.wasm` without a manifest gets exactly the tenant's values.\n\n")
	table(&b, tenantFields(new(Tenant)), "")
	return b.String()
}

// table writes one Markdown table; mappings are flattened to dotted keys
// and lists of mappings get their own table.
func table(b *strings.Builder, fields []field, prefix string) {
	if prefix == "" {
		b.WriteString("| key | type | default | meaning |\n|---|---|---|---|\n")
	}
	for _, f := range fields {
		name := prefix + f.name
		if f.kind == "mapping" && len(f.children) > 0 {
			table(b, f.children, name+".")
			continue
		}
		def := "—"
		if f.def != "" {
			def = "`" + f.def + "`"
		}
		key := "`" + name + "`"
		if f.deepflow {
			key += " (DeepFlow)"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", key, f.kind, def, strings.ReplaceAll(f.meaning, "|", `\|`))
	}
}
