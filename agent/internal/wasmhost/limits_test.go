package wasmhost

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/sandbox"
)

// procs makes n processes called name, with pids from first.
func procs(first, n int, name string) []Input {
	in := make([]Input, n)
	for i := range in {
		in[i] = proc(first+i, name)
	}
	return in
}

// TestBreakerStopsWithinTick: once the circuit opens, the rest of the
// tick's chunks are not called.
func TestBreakerStopsWithinTick(t *testing.T) {
	h, _ := newHost(t, Config{Plugins: []PluginSpec{behave("g", func(p *PluginSpec) { p.Instances = 1 })}})
	in := procs(1, 10, "trap")
	h.Apply(t.Context(), in) // one batch faults: every record becomes a suspect
	before := pluginStats(t, h, "g").Calls
	out := h.Apply(t.Context(), in) // suspects alone: the breaker opens at the third fault in a row
	st := pluginStats(t, h, "g")
	const calls = breakerThreshold - 1 // the batch's fault counts too
	if got := st.Calls - before; got != calls {
		t.Errorf("%d calls after the batch, want %d: the breaker must stop the tick's calls", got, calls)
	}
	notCalled := 0
	for _, o := range out {
		if errors.Is(o.Effects[0].Err, ErrNotCalled) {
			notCalled++
		}
	}
	if notCalled != len(in)-calls || st.Breaker != BreakerOpen {
		t.Errorf("%d records not called, breaker %v; want %d and open", notCalled, st.Breaker, len(in)-calls)
	}
}

// TestTickBudgetDefersRecords: a plugin past its tick budget is not called
// again in the tick; the records left are called in later ticks.
func TestTickBudgetDefersRecords(t *testing.T) {
	h, logs := newHost(t, Config{Plugins: []PluginSpec{behave("g", func(p *PluginSpec) {
		p.Instances, p.TickBudget = 1, time.Nanosecond
	})}})
	in := procs(1, 2*chunkRecords+2, "svc")
	tagged := func(out []Output) int {
		n := 0
		for _, o := range out {
			if _, ok := tagValue(o.Tags, "test.name"); ok {
				n++
			}
		}
		return n
	}
	for tick, want := range []int{chunkRecords, 2 * chunkRecords, len(in)} {
		if got := tagged(h.Apply(t.Context(), in)); got != want {
			t.Fatalf("tick %d: %d records tagged, want %d (one chunk a tick)", tick, got, want)
		}
	}
	if st := pluginStats(t, h, "g"); st.BudgetSkips != chunkRecords+2+2 || !strings.Contains(logs.String(), "plugin tick budget used up") {
		t.Errorf("BudgetSkips = %d, want %d, and a warning:\n%s", st.BudgetSkips, chunkRecords+4, logs)
	}
}

// TestGrantRefusalIsAFault: an output the grant does not allow is counted
// as a fault of kind grant and opens the breaker like any other fault.
func TestGrantRefusalIsAFault(t *testing.T) {
	h, _ := newHost(t, Config{Plugins: []PluginSpec{behave("g")}})
	for i := range breakerThreshold {
		out := h.Apply(t.Context(), []Input{proc(100+i, "rename")})
		if !errors.Is(out[0].Effects[0].Err, sandbox.ErrNotGranted) || out[0].Name != "rename" {
			t.Fatalf("apply %d: %+v, want the rename refused", i, out[0])
		}
	}
	st := pluginStats(t, h, "g")
	if st.Faults["grant"] != breakerThreshold || st.Breaker != BreakerOpen || !strings.Contains(st.LastFault, "rename is not granted") {
		t.Errorf("faults %v, breaker %v, last %q; want %d grant faults, open", st.Faults, st.Breaker, st.LastFault, breakerThreshold)
	}
}

// TestStatusFile: a tenant's directory gets a status file saying which
// plugins loaded and why the others did not.
func TestStatusFile(t *testing.T) {
	dir := t.TempDir()
	dropIn(t, dir, "good", behaveWasm, "config: prefix=team.\n")
	greedy := map[string]string{ // manifest -> what the refusal names
		"fields: [pid, env]":        `"env" is not allowed for tenant team`,
		"capabilities: [tag, drop]": `"drop" is not allowed for tenant team`,
		"tag-prefix: other.":        `does not start with tenant team's prefix "team."`,
		"memory-limit: 1GiB":        "memory-limit: 1GiB is over tenant team's ceiling of 64MiB",
		"timeout: 10s":              "timeout: 10s is over tenant team's ceiling of 5s",
		"scope: {uids: [0]}":        "0 is not one of tenant team's uids (1000)",
		"instances: 4":              "instances",
		"tick-budget: 2m":           "tick-budget",
		"init-timeout: 11s":         "init-timeout",
	}
	var names []string
	for manifest := range greedy {
		name := fmt.Sprintf("greedy%d", len(names))
		names = append(names, name)
		dropIn(t, dir, name, behaveWasm, "config: prefix=team.\n"+manifest+"\n")
	}
	tenant := config.Tenant{
		Name: "team", PluginDir: dir, UIDs: []int{1000}, TagPrefix: "team.",
		Capabilities: []string{"tag"}, Fields: []string{"pid", "name", "process_name"},
		MemoryLimitBytes: 64 << 20, Timeout: 5 * time.Second, InitTimeout: 10 * time.Second,
		TickBudget: time.Minute, Instances: 1, MaxPlugins: 20,
	}
	h, _ := newHost(t, Config{Tenants: []Tenant{fromConfigTenant(tenant)}})
	out := h.Apply(t.Context(), []Input{proc(1, "svc")})
	if v, _ := tagValue(out[0].Tags, "team.name"); v != "svc" {
		t.Errorf("tenant plugin did not tag its uid's process: %+v", out[0])
	}
	h.writeStatus(time.Now())
	ds, err := ReadStatus(filepath.Join(dir, StatusFile))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]PluginStatus{}
	for _, p := range ds.Plugins {
		byName[p.Name] = p
	}
	if g := byName["good"]; ds.Tenant != "team" || !g.Loaded || g.Calls == 0 {
		t.Errorf("status of good = %+v (tenant %q), want loaded and called", g, ds.Tenant)
	}
	for _, name := range names {
		if g := byName[name]; g.Loaded || g.Error == "" {
			t.Errorf("status of %s = %+v, want refused", name, g)
		}
	}
	for manifest, want := range greedy {
		found := false
		for _, p := range ds.Plugins {
			found = found || strings.Contains(p.Error, want)
		}
		if !found {
			t.Errorf("no plugin refused with %q (manifest %q):\n%+v", want, manifest, ds.Plugins)
		}
	}
	if names := fmt.Sprint(h.Stats().Plugins[0].Name); names != "team/good" && names != "team/greedy" {
		t.Errorf("tenant plugins are named %s, want team/NAME", names)
	}
}

// TestTenantDirWritableByOthersIsRefused: a tenant directory others may
// write to is not loaded from, and the status says why.
func TestTenantDirWritableByOthersIsRefused(t *testing.T) {
	dir := t.TempDir()
	dropIn(t, dir, "good", behaveWasm, "config: prefix=team.\n")
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	tenant := config.Tenant{Name: "team", PluginDir: dir, UIDs: []int{1000}, TagPrefix: "team.", MaxPlugins: 4}
	h, logs := newHost(t, Config{Tenants: []Tenant{fromConfigTenant(tenant)}})
	if n := len(h.Stats().Plugins); n != 0 || !strings.Contains(logs.String(), "writable by group or others") {
		t.Errorf("%d plugins loaded from a world-writable directory; log:\n%s", n, logs)
	}
	st := h.statuses(time.Now())
	if len(st) != 1 || !strings.Contains(st[0].Error, "writable by group or others") {
		t.Errorf("status = %+v, want the refusal", st)
	}
}

// TestSettled checks when the results of the last Apply stand as they are
// (Settled), which a tick that publishes the last state without reading
// relies on: not before the first Apply, not after an Apply the tick
// budget cut short, not after a plugin was reloaded or unloaded, and
// again after an Apply that called everything.
func TestSettled(t *testing.T) {
	dir := t.TempDir()
	dropIn(t, dir, "a", behaveWasm, "config: prefix=a.\ntag-prefix: a.\n")
	h, _ := newHost(t, Config{PluginDir: dir, Plugins: []PluginSpec{behave("g", func(p *PluginSpec) {
		p.Instances, p.TickBudget = 1, time.Nanosecond
	})}})
	ctx := t.Context()
	few, many := procs(1, 2, "svc"), procs(1, 2*chunkRecords, "svc")
	steps := []struct {
		name string
		do   func()
		want bool
	}{
		{"loaded, never applied", func() {}, false},
		{"an Apply that called everything", func() { h.Apply(ctx, few) }, true},
		{"an Apply the tick budget cut short", func() { h.Apply(ctx, many) }, false},
		{"the next Apply calls the rest", func() { h.Apply(ctx, many) }, true},
		{"a plugin reloaded", func() {
			dropIn(t, dir, "a", behaveWasm, "config: prefix=a2.\ntag-prefix: a2.\n")
			if err := h.poll(ctx); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"applied again", func() { h.Apply(ctx, few) }, true},
		{"a plugin unloaded", func() {
			for _, f := range []string{"a.wasm", "a.yaml"} {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.poll(ctx); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"applied after the unload", func() { h.Apply(ctx, few) }, true},
	}
	for _, s := range steps {
		s.do()
		if got := h.Settled(); got != s.want {
			t.Errorf("%s: Settled() = %v, want %v", s.name, got, s.want)
		}
	}
}
