package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// payments is the tenant the manifest tests parse against.
func payments() Tenant {
	return Tenant{
		Name: "payments", PluginDir: "/srv/tenants/payments", UIDs: []int{1001, 1002}, TagPrefix: "payments.",
		Capabilities: []string{"tag"}, Fields: []string{"pid", "name", "process_name", "cmdline"},
		MemoryLimitBytes: 32 << 20, Timeout: 50 * time.Millisecond, InitTimeout: time.Second, TickBudget: time.Second,
		Instances: 2, MaxPlugins: 4, MaxModuleBytes: 8 << 20,
	}
}

// ceilingPlugin is the plugin x.yaml gets in payments' directory with no
// key set.
func ceilingPlugin() Plugin {
	return Plugin{
		Name: "x", Path: "/srv/tenants/payments/x.wasm", Tenant: "payments",
		Capabilities: []string{"tag"}, TagPrefix: "payments.", Fields: []string{"pid", "name", "process_name", "cmdline"},
		Scope:   Scope{UIDs: []int{1001, 1002}, MatchType: "process_name"},
		Timeout: 50 * time.Millisecond, InitTimeout: time.Second, TickBudget: time.Second,
		MemoryLimitBytes: 32 << 20, Instances: 2,
		File: "/srv/tenants/payments/x.yaml", Line: 1,
	}
}

func TestParseTenantManifest(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want func(p *Plugin) // edits ceilingPlugin() into the expected value
	}{
		{"no manifest gives the ceiling", nil, func(*Plugin) {}},
		{"empty manifest gives the ceiling", []byte("# nothing\n"), func(*Plugin) {}},
		{"absent keys take the tenant's, not the defaults", []byte("config: 'k: v'\nsha256: ''\n"),
			func(p *Plugin) { p.Config = []byte("k: v") }},
		{"every key at the ceiling", []byte("capabilities: [tag]\nfields: [cmdline, pid, name, process_name]\ntag-prefix: payments.\n" +
			"memory-limit: 32MiB\ntimeout: 50ms\ninit-timeout: 1s\ntick-budget: 1\ninstances: 2\nscope: {uids: [1002, 1001]}\n"),
			func(p *Plugin) {
				p.Fields, p.FieldsSet = []string{"cmdline", "pid", "name", "process_name"}, true
				p.Scope.UIDs = []int{1002, 1001}
			}},
		{"every key below the ceiling", []byte("capabilities: []\nfields: [pid]\ntag-prefix: payments.jvm.\n" +
			"memory-limit: 100KiB\ntimeout: 10ms\ninit-timeout: 200ms\ntick-budget: 300ms\ninstances: 1\n" +
			"scope: {uids: [1002], match-regex: ^java$, match-type: cmdline}\n"),
			func(p *Plugin) {
				p.Capabilities, p.Fields, p.FieldsSet, p.TagPrefix = []string{}, []string{"pid"}, true, "payments.jvm."
				p.MemoryLimitBytes, p.Timeout, p.InitTimeout, p.TickBudget, p.Instances = 128<<10, 10*time.Millisecond, 200*time.Millisecond, 300*time.Millisecond, 1
				p.Scope = Scope{UIDs: []int{1002}, MatchRegex: "^java$", MatchType: "cmdline"}
			}},
		{"scope without uids keeps the tenant's", []byte("scope: {match-regex: java, uids: ~}\n"),
			func(p *Plugin) { p.Scope.MatchRegex = "java" }},
		{"null values are absent", []byte("fields:\nscope:\nmemory-limit: ~\n"), func(*Plugin) {}},
		{"path inside the directory", []byte("path: build/../x-v2.wasm\n"), func(p *Plugin) { p.Path = "/srv/tenants/payments/x-v2.wasm" }},
		{"name equal to the file's", []byte("name: x\n"), func(*Plugin) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTenantManifest(payments(), tt.data, "/srv/tenants/payments/x.yaml")
			if err != nil {
				t.Fatal(err)
			}
			want := ceilingPlugin()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseTenantManifestRefusesMore(t *testing.T) {
	tests := []struct {
		name, yml string
		tenant    func(t *Tenant)
		want      []string
	}{
		{"every ceiling exceeded, all reported", "capabilities: [tag, drop]\nfields: [pid, name, env]\ntag-prefix: other.\n" +
			"memory-limit: 1GiB\ntimeout: 2s\ninit-timeout: 5s\ntick-budget: 1m\ninstances: 64\nscope:\n  uids: [0, 1001, 1003]\n", nil,
			[]string{
				`1: capabilities[1]: "drop" is not allowed for tenant payments (its ceiling: tag)`,
				`2: fields[2]: "env" is not allowed for tenant payments (its ceiling: pid, name, process_name, cmdline)`,
				`3: tag-prefix: "other." does not start with tenant payments's prefix "payments."`,
				`4: memory-limit: 1GiB is over tenant payments's ceiling of 32MiB`,
				`5: timeout: 2s is over tenant payments's ceiling of 50ms`,
				`6: init-timeout: 5s is over tenant payments's ceiling of 1s`,
				`7: tick-budget: 1m0s is over tenant payments's ceiling of 1s`,
				`8: instances: 64 is over tenant payments's ceiling of 2`,
				`10: scope.uids[0]: 0 is not one of tenant payments's uids (1001, 1002)`,
				`10: scope.uids[2]: 1003 is not one of tenant payments's uids (1001, 1002)`,
			}},
		{"any uid", "scope: {uids: []}\n", nil,
			[]string{`1: scope.uids: [] means any uid, more than tenant payments's uids (1001, 1002); list some of them or leave the key out`}},
		{"prefix that only shares letters", "tag-prefix: payments\n", nil,
			[]string{`1: tag-prefix: "payments" does not start with tenant payments's prefix "payments."`}},
		{"memory in bytes over the ceiling", "memory-limit: 33554433\n", nil,
			[]string{`1: memory-limit: 33554433 is over tenant payments's ceiling of 32MiB`}},
		{"tenant without capabilities", "capabilities: [tag]\n", func(t *Tenant) { t.Capabilities = []string{} },
			[]string{`1: capabilities[0]: "tag" is not allowed for tenant payments (its ceiling: none)`}},
		{"absolute path", "path: /usr/lib/proctag/x.wasm\n", nil,
			[]string{`1: path: "/usr/lib/proctag/x.wasm" is not a path inside tenant payments's plugin-dir (a relative path without ..)`}},
		{"path escaping with ..", "path: ../search/x.wasm\n", nil,
			[]string{`1: path: "../search/x.wasm" is not a path inside tenant payments's plugin-dir (a relative path without ..)`}},
		{"path of the directory itself", "path: ./build/..\n", nil,
			[]string{`1: path: "./build/.." is not a path inside tenant payments's plugin-dir (a relative path without ..)`}},
		{"invalid value reported once, not also as over the ceiling", "memory-limit: 8GiB\ntimeout: 11s\n", nil,
			[]string{`1: memory-limit: "8GiB" is not a size from 1 byte to 4GiB`, `2: timeout: "11s" is more than the limit of 10s`}},
		{"bad items reported once", "fields: [pid, pid, password]\n", nil,
			[]string{`1: fields[1]: "pid" is listed twice`, `1: fields[2]: "password" is not pid, ppid, start_time, name, process_name, cmdline, exe, uid, user, container_id, cgroup, tags or env`}},
		{"key set twice checked once", "instances: 1\ninstances: 9\n", nil,
			[]string{`2: instances: set twice (first at line 1); keep one`}},
		{"plugin errors beside ceiling errors", "name: y\ninstances: 3\n", nil,
			[]string{`1: name: "y" is not "x", the name the manifest's file gives it; rename one`, `2: instances: 3 is over tenant payments's ceiling of 2`}},
		{"unknown key", "tenant: search\n", nil,
			[]string{`1: tenant: unknown key; see the configuration reference`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ten := payments()
			if tt.tenant != nil {
				tt.tenant(&ten)
			}
			p, err := ParseTenantManifest(ten, []byte(tt.yml), "payments/x.yaml")
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			checkErrors(t, err, "payments/x.yaml")
			got := strings.Split(strings.TrimSpace(errorLines(t, err)), "\n")
			var want []string
			for _, w := range tt.want {
				want = append(want, "payments/x.yaml:"+w)
			}
			if !slices.Equal(got, want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestParseTenantManifestNeedsAParsedTenant(t *testing.T) {
	for _, ten := range []Tenant{{}, {Name: "t", TagPrefix: "t."}, {Name: "t", UIDs: []int{1}}} {
		if p, err := ParseTenantManifest(ten, nil, "/srv/t/x.yaml"); err == nil {
			t.Errorf("tenant %+v accepted, plugin %+v", ten, p)
		}
	}
}

// TestParseTenantManifestCopies: the plugin does not share the tenant's
// slices, so a caller changing one cannot widen the other.
func TestParseTenantManifestCopies(t *testing.T) {
	ten := payments()
	p, err := ParseTenantManifest(ten, nil, "/srv/tenants/payments/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p.Scope.UIDs[0], p.Fields[0], p.Capabilities[0] = 0, "env", "drop"
	if !reflect.DeepEqual(ten, payments()) {
		t.Errorf("changing the plugin changed the tenant: %+v", ten)
	}
}

// TestTenantFromConfig: a tenant as Parse gives it works with
// ParseTenantManifest.
func TestTenantFromConfig(t *testing.T) {
	cfg, _ := parse(t, tenantBase+"  fields: [pid, env]\n")
	p, err := ParseTenantManifest(cfg.Tenants[0], []byte("fields: [env]\n"), cfg.Tenants[0].PluginDir+"/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenant != "payments" || !slices.Equal(p.Fields, []string{"env"}) || !slices.Equal(p.Scope.UIDs, []int{1001}) || p.TagPrefix != "payments." {
		t.Errorf("got %+v", p)
	}
}
