package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// leaf is a registry key flattened to its dotted path.
type leaf struct {
	path string
	f    field
}

// leaves flattens mappings (nats.tls.ca); lists of mappings (os-proc-regex,
// plugins) stay one key, their entry keys are checked separately.
func leaves(fields []field, prefix string) []leaf {
	var out []leaf
	for _, f := range fields {
		if f.kind == "mapping" && len(f.children) > 0 {
			out = append(out, leaves(f.children, prefix+f.name+".")...)
			continue
		}
		out = append(out, leaf{prefix + f.name, f})
	}
	return out
}

// nest writes "a.b.c: v" as nested YAML mappings.
func nest(path, value string) string {
	parts := strings.Split(path, ".")
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i < len(parts)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString(" " + value + "\n")
	return b.String()
}

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// TestRegistryIsDocumented: every key has a type and a meaning, names are
// kebab-case like DeepFlow's and unique per mapping.
func TestRegistryIsDocumented(t *testing.T) {
	var check func(fields []field, where string)
	check = func(fields []field, where string) {
		seen := map[string]bool{}
		for _, f := range fields {
			if !kebab.MatchString(f.name) || seen[f.name] {
				t.Errorf("%s: key %q is not kebab-case or is listed twice", where, f.name)
			}
			seen[f.name] = true
			if f.kind == "" || f.meaning == "" {
				t.Errorf("%s%s: type %q or meaning %q is missing", where, f.name, f.kind, f.meaning)
			}
			check(f.children, where+f.name+".")
		}
	}
	check(configFields(new(Config)), "")
	check(pluginFields(new(Plugin)), "plugins[].")
}

// TestRegistryDefaultsMatchDefault: writing a key's documented default
// explicitly gives exactly Default(), so the reference cannot drift from
// the code.
func TestRegistryDefaultsMatchDefault(t *testing.T) {
	want := Default()
	want.File = "proctag.yaml"
	for _, l := range leaves(configFields(new(Config)), "") {
		if l.f.def == "" {
			continue
		}
		t.Run(l.path, func(t *testing.T) {
			doc := nest(l.path, l.f.def)
			cfg, warns, err := Parse([]byte(doc), "proctag.yaml")
			if err != nil || len(warns) != 0 {
				t.Fatalf("Parse(%q): %v %v", doc, err, warns)
			}
			if !reflect.DeepEqual(*cfg, want) {
				t.Errorf("documented default %q gives\n%+v\nbut Default() is\n%+v", l.f.def, *cfg, want)
			}
		})
	}
}

// TestPluginRegistryDefaults does the same for plugin keys.
func TestPluginRegistryDefaults(t *testing.T) {
	const base = "plugins:\n- name: p\n  path: /p.wasm\n  tag-prefix: p.\n"
	cfg, _ := parse(t, base)
	want := defaultPlugin()
	want.Name, want.Path, want.TagPrefix, want.File, want.Line = "p", "/p.wasm", "p.", cfg.File, 2
	if !reflect.DeepEqual(cfg.Plugins[0], want) {
		t.Fatalf("plugin with only name, path and tag-prefix = %+v, want defaultPlugin() %+v", cfg.Plugins[0], want)
	}
	for _, l := range leaves(pluginFields(new(Plugin)), "") {
		if l.f.def == "" {
			continue
		}
		t.Run(l.path, func(t *testing.T) {
			doc := base + strings.ReplaceAll("\n"+nest(l.path, l.f.def), "\n", "\n  ")
			got, _ := parse(t, doc)
			want := want
			want.FieldsSet = l.path == "fields"
			if !reflect.DeepEqual(got.Plugins[0], want) {
				t.Errorf("documented default %q gives %+v, want %+v", l.f.def, got.Plugins[0], want)
			}
		})
	}
}

// yamlPaths lists the dotted key paths present in a YAML tree; entries of
// lists are merged under the list's key.
func yamlPaths(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		yamlPaths(n.Content[0], prefix, out)
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			p := prefix + n.Content[i].Value
			out[p] = true
			yamlPaths(n.Content[i+1], p+".", out)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			yamlPaths(item, prefix, out)
		}
	}
}

// TestFullYAMLSetsEveryKey keeps testdata/config/full.yaml complete: every
// key of the registry appears in it, except the NATS authentication methods
// that exclude its creds (covered by TestNATSAuthAlternatives).
func TestFullYAMLSetsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "testdata/config/full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	yamlPaths(&doc, "", present)
	exempt := []string{"nats.nkey-seed", "nats.token", "nats.user", "nats.password"}
	var want []string
	for _, l := range leaves(configFields(new(Config)), "") {
		want = append(want, l.path)
		for _, c := range leaves(l.f.children, l.path+".") {
			want = append(want, c.path)
		}
	}
	for _, p := range want {
		if !present[p] && !slices.Contains(exempt, p) {
			t.Errorf("full.yaml does not set %s", p)
		}
	}
}

// TestDeepFlowKeysUnderStaticConfig: each DeepFlow key means the same at
// the top level and under static_config, without a warning.
func TestDeepFlowKeysUnderStaticConfig(t *testing.T) {
	samples := map[string]string{
		"os-proc-sync-enabled":         "true",
		"os-proc-sync-tagged-only":     "true",
		"os-proc-root":                 "/host/proc",
		"os-proc-socket-sync-interval": "60",
		"os-proc-socket-min-lifetime":  "0",
		"os-app-tag-exec":              "[cat, /tmp/tag.yaml]",
		"os-app-tag-exec-user":         "root",
		"os-app-tag-exec-timeout":      "1s",
		"os-proc-regex":                "[{match-regex: x, action: drop}]",
	}
	for _, f := range configFields(new(Config)) {
		if !f.deepflow {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			v, ok := samples[f.name]
			if !ok {
				t.Fatalf("no sample value for DeepFlow key %s", f.name)
			}
			top, _ := parse(t, fmt.Sprintf("%s: %s\n", f.name, v))
			static, warns := parse(t, fmt.Sprintf("static_config:\n  %s: %s\n", f.name, v))
			if len(warns) != 0 {
				t.Errorf("warnings: %v", warns)
			}
			for i := range static.Rules { // rules remember their lines
				r := &static.Rules[i]
				for _, l := range []*int{&r.Line, &r.RegexLine, &r.TypeLine, &r.ActionLine} {
					if *l > 0 {
						*l--
					}
				}
			}
			def := Default()
			def.File = top.File
			if !reflect.DeepEqual(top, static) || reflect.DeepEqual(*top, def) {
				t.Errorf("top level gives %+v\nstatic_config gives %+v", *top, *static)
			}
		})
	}
}

// TestOtherStaticConfigKeysWarnOnce: proctag's own keys and unknown keys
// under static_config are ignored, with one warning listing them.
func TestOtherStaticConfigKeysWarnOnce(t *testing.T) {
	cfg, warns := parse(t, "static_config:\n  log-level: debug\n  nats: {url: 'nats://x:1'}\n  max-memory: 768\n")
	if cfg.LogLevel != "info" || cfg.NATS.URL != "" {
		t.Errorf("static_config keys not ignored: log-level=%q nats.url=%q", cfg.LogLevel, cfg.NATS.URL)
	}
	want := []Warning{{File: cfg.File, Line: 1, Key: "static_config", Msg: "ignoring keys proctag does not use here: log-level, nats, max-memory"}}
	if !reflect.DeepEqual(warns, want) {
		t.Errorf("warnings = %v, want %v", warns, want)
	}
}
