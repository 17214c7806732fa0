package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// tenantBase is a tenants: entry with only the required keys.
const tenantBase = "tenants:\n- name: payments\n  plugin-dir: tenants/payments\n  uids: [1001]\n  tag-prefix: payments.\n"

// baseTenant is what tenantBase gives.
func baseTenant() Tenant {
	t := defaultTenant()
	t.Name, t.PluginDir, t.UIDs, t.TagPrefix = "payments", "/etc/proctag/tenants/payments", []int{1001}, "payments."
	t.MaxModuleBytes = DefaultPluginLimits().MaxModuleBytes
	t.File, t.Line = "/etc/proctag/proctag.yaml", 2
	return t
}

// TestTenantRegistryDefaults: writing a tenant key's documented default
// gives the same tenant as leaving it out.
func TestTenantRegistryDefaults(t *testing.T) {
	cfg, _ := parse(t, tenantBase)
	want := baseTenant()
	if !reflect.DeepEqual(cfg.Tenants, []Tenant{want}) {
		t.Fatalf("tenant with only the required keys = %+v, want %+v", cfg.Tenants, want)
	}
	for _, f := range tenantFields(new(Tenant)) {
		if f.def == "" {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			got, _ := parse(t, tenantBase+"  "+f.name+": "+f.def+"\n")
			if !reflect.DeepEqual(got.Tenants, []Tenant{want}) {
				t.Errorf("documented default %q gives %+v, want %+v", f.def, got.Tenants, want)
			}
		})
	}
}

func TestTenants(t *testing.T) {
	tests := []struct {
		name, yml string
		want      func(t *Tenant)
	}{
		{"required keys only", "", func(*Tenant) {}},
		{"ceilings set", "  capabilities: [tag, rename]\n  fields: [pid, env]\n  memory-limit: 100KiB\n  timeout: 50ms\n" +
			"  init-timeout: 2s\n  tick-budget: 30s\n  instances: 4\n  max-plugins: 1000\n  max-module-size: 8MiB\n  allow-any-owner: true\n",
			func(t *Tenant) {
				t.Capabilities, t.Fields, t.MemoryLimitBytes = []string{"tag", "rename"}, []string{"pid", "env"}, 128<<10
				t.Timeout, t.InitTimeout, t.TickBudget = 50*time.Millisecond, 2*time.Second, 30*time.Second
				t.Instances, t.MaxPlugins, t.MaxModuleBytes, t.AllowAnyOwner = 4, 1000, 8<<20, true
			}},
		{"no capabilities at all", "  capabilities: []\n", func(t *Tenant) { t.Capabilities = []string{} }},
		{"max-module-size defaults to plugin-limits, written after tenants", "plugin-limits: {max-module-size: 4MiB}\n",
			func(t *Tenant) { t.MaxModuleBytes = 4 << 20 }},
		{"max-module-size equal to plugin-limits", "  max-module-size: 32MiB\n", func(*Tenant) {}},
		{"operator's plugin-dir elsewhere", "plugin-dir: /srv/ops\n", func(*Tenant) {}},
		{"sibling of the operator's plugin-dir", "plugin-dir: /etc/proctag/tenants/ops\n", func(*Tenant) {}},
		{"prefix of a name is not a parent", "plugin-dir: /etc/proctag/tenants/pay\n", func(*Tenant) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := parse(t, tenantBase+tt.yml)
			want := baseTenant()
			tt.want(&want)
			if !reflect.DeepEqual(cfg.Tenants, []Tenant{want}) {
				t.Errorf("got %+v\nwant %+v", cfg.Tenants, []Tenant{want})
			}
		})
	}
}

func TestTwoTenants(t *testing.T) {
	cfg, _ := parse(t, tenantBase+"- name: search\n  plugin-dir: /srv/search\n  uids: [1003, 1004]\n  tag-prefix: search/\n")
	if len(cfg.Tenants) != 2 || cfg.Tenants[1].Name != "search" || !slices.Equal(cfg.Tenants[1].UIDs, []int{1003, 1004}) || cfg.Tenants[1].Line != 6 {
		t.Errorf("got %+v, want payments then search (line 6)", cfg.Tenants)
	}
}

func TestTenantErrors(t *testing.T) {
	entry := func(lines ...string) string { return "tenants:\n- " + strings.Join(lines, "\n  ") + "\n" }
	required := []string{"name: payments", "plugin-dir: /srv/payments", "uids: [1001]", "tag-prefix: payments."}
	with := func(extra ...string) string { return entry(append(slices.Clone(required), extra...)...) }
	tests := []struct {
		name, yml string
		want      []string
	}{
		{"not a list", "tenants: {name: x}", []string{`1: tenants: a mapping is not a list of tenants`}},
		{"entry not a mapping", "tenants: [payments]", []string{`1: tenants[0]: "payments" is not a tenant (a mapping with name, plugin-dir, uids, tag-prefix, ...)`}},
		{"every required key missing", "tenants:\n- capabilities: [tag]\n", []string{
			`2: tenants[0]: name is missing; every tenant needs one`,
			`2: tenants[0]: plugin-dir is missing; give the directory of its plugins`,
			`2: tenants[0]: uids is missing; list the uids whose processes its plugins may see`,
			`2: tenants[0]: tag-prefix is missing; every tag key its plugins set starts with it`,
		}},
		{"empty uids", entry("name: p", "plugin-dir: /srv/p", "uids: []", "tag-prefix: p."),
			[]string{`4: tenants[0].uids: [] is not allowed; list the uids whose processes its plugins may see`}},
		{"empty plugin-dir", entry("name: p", "plugin-dir: ''", "uids: [1]", "tag-prefix: p."),
			[]string{`3: tenants[0].plugin-dir: "" is not a directory path`}},
		{"bad name", entry("name: pay ments", "plugin-dir: /srv/p", "uids: [1]", "tag-prefix: p."),
			[]string{`2: tenants[0].name: "pay ments" is not a plugin name of up to 64 letters, digits, _ and -`}},
		{"values checked as the plugin keys are", with("capabilities: [root]", "fields: [env, env]", "memory-limit: 8GiB", "timeout: 1m",
			"init-timeout: 11s", "tick-budget: 2m", "instances: 65", "max-plugins: 0", "max-module-size: 2GiB", "allow-any-owner: yes", "tag-prefix2: x"),
			[]string{
				`6: tenants[0].capabilities[0]: "root" is not rename, tag or drop`,
				`7: tenants[0].fields[1]: "env" is listed twice`,
				`8: tenants[0].memory-limit: "8GiB" is not a size from 1 byte to 4GiB`,
				`9: tenants[0].timeout: "1m" is more than the limit of 10s`,
				`10: tenants[0].init-timeout: "11s" is more than the limit of 10s`,
				`11: tenants[0].tick-budget: "2m" is more than the limit of 1m0s`,
				`12: tenants[0].instances: 65 is not an integer from 1 to 64`,
				`13: tenants[0].max-plugins: 0 is not an integer from 1 to 1000`,
				`14: tenants[0].max-module-size: "2GiB" is not a size from 1KiB to 1GiB`,
				`15: tenants[0].allow-any-owner: "yes" is not a boolean (true or false)`,
				`16: tenants[0].tag-prefix2: unknown key (did you mean tag-prefix?)`,
			}},
		{"uid out of range", entry("name: p", "plugin-dir: /srv/p", "uids: [-1]", "tag-prefix: p."),
			[]string{`4: tenants[0].uids[0]: -1 is not an integer from 0 to 4294967294`}},
		{"max-module-size over plugin-limits", "plugin-limits: {max-module-size: 4MiB}\n" + with("max-module-size: 8MiB"),
			[]string{`7: tenants[0].max-module-size: "8MiB" is over plugin-limits.max-module-size, 4MiB`}},
		{"duplicate name", with() + "- name: payments\n  plugin-dir: /srv/other\n  uids: [1]\n  tag-prefix: o.\n",
			[]string{`6: tenants[1].name: "payments" is already the name of the tenant at line 2; names must be unique`}},
		{"operator's plugin-dir", "plugin-dir: /srv/payments/\n" + with(),
			[]string{`4: tenants[0].plugin-dir: "/srv/payments" is also plugin-dir, the operator's plugin directory "/srv/payments/"; a tenant needs a directory of its own, apart from the others`}},
		{"inside the operator's plugin-dir", "plugin-dir: /srv\n" + with(),
			[]string{`4: tenants[0].plugin-dir: "/srv/payments" is inside plugin-dir, the operator's plugin directory "/srv"; a tenant needs a directory of its own, apart from the others`}},
		{"around the operator's plugin-dir", "plugin-dir: /srv/payments/ops\n" + with(),
			[]string{`4: tenants[0].plugin-dir: "/srv/payments" contains plugin-dir, the operator's plugin directory "/srv/payments/ops"; a tenant needs a directory of its own, apart from the others`}},
		{"relative plugin-dir equal to the operator's", "plugin-dir: plugins.d\n" + entry("name: p", "plugin-dir: /etc/proctag/plugins.d", "uids: [1]", "tag-prefix: p."),
			[]string{`4: tenants[0].plugin-dir: "/etc/proctag/plugins.d" is also plugin-dir, the operator's plugin directory "/etc/proctag/plugins.d"; a tenant needs a directory of its own, apart from the others`}},
		{"another tenant's plugin-dir", with() + "- name: search\n  plugin-dir: /srv/payments\n  uids: [1]\n  tag-prefix: s.\n",
			[]string{`7: tenants[1].plugin-dir: "/srv/payments" is also the plugin-dir of tenant payments (line 2) "/srv/payments"; a tenant needs a directory of its own, apart from the others`}},
		{"inside another tenant's plugin-dir", with() + "- name: search\n  plugin-dir: /srv/payments/search\n  uids: [1]\n  tag-prefix: s.\n",
			[]string{`7: tenants[1].plugin-dir: "/srv/payments/search" is inside the plugin-dir of tenant payments (line 2) "/srv/payments"; a tenant needs a directory of its own, apart from the others`}},
		{"tag-prefix of another tenant", with() + "- name: search\n  plugin-dir: /srv/search\n  uids: [1]\n  tag-prefix: payments.\n",
			[]string{`9: tenants[1].tag-prefix: "payments." overlaps the tag-prefix "payments." of tenant payments (line 2); tenants need prefixes that no key shares, so that none can change another's tags`}},
		{"tag-prefix inside another tenant's", with() + "- name: search\n  plugin-dir: /srv/search\n  uids: [1]\n  tag-prefix: payments.search.\n",
			[]string{`9: tenants[1].tag-prefix: "payments.search." overlaps the tag-prefix "payments." of tenant payments (line 2); tenants need prefixes that no key shares, so that none can change another's tags`}},
		{"tag-prefix around another tenant's", with() + "- name: search\n  plugin-dir: /srv/search\n  uids: [1]\n  tag-prefix: pay\n",
			[]string{`9: tenants[1].tag-prefix: "pay" overlaps the tag-prefix "payments." of tenant payments (line 2); tenants need prefixes that no key shares, so that none can change another's tags`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := Parse([]byte(tt.yml), "/etc/proctag/proctag.yaml")
			if err == nil {
				t.Fatalf("Parse accepted %q: %+v", tt.yml, cfg.Tenants)
			}
			got := strings.Split(strings.TrimSpace(errorLines(t, err)), "\n")
			var want []string
			for _, w := range tt.want {
				want = append(want, "/etc/proctag/proctag.yaml:"+w)
			}
			if !slices.Equal(got, want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
