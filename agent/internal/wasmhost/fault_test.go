package wasmhost

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/sandbox"
)

// TestCallFaults: each fault discards the instance, keeps the process's
// previous result, is counted and logged once, and the host goes on.
func TestCallFaults(t *testing.T) {
	tests := []struct {
		name    string
		plugin  PluginSpec
		trigger string // record name that makes the call fault
		kind    sandbox.FaultKind
		want    string // in the effect's error
	}{
		{"go panic", behave("g"), "trap", sandbox.FaultTrap, "wasm error: unreachable"},
		{"unreachable", handSpec("unreachable"), "", sandbox.FaultTrap, "wasm error: unreachable"},
		{"infinite loop in go", behave("g", func(p *PluginSpec) { p.Timeout = 50 * time.Millisecond }), "loop", sandbox.FaultTimeout, "call ran past the timeout of 50ms"},
		{"infinite loop by hand", handSpec("loop", func(p *PluginSpec) { p.Timeout = 20 * time.Millisecond }), "", sandbox.FaultTimeout, "call ran past the timeout of 20ms"},
		{"infinite loop 40 calls deep", handSpec("deep_loop", func(p *PluginSpec) { p.Timeout = 20 * time.Millisecond }), "", sandbox.FaultTimeout, "call ran past the timeout of 20ms"},
		{"infinite loop in SIMD code", handSpec("simd_loop", func(p *PluginSpec) { p.Timeout = 20 * time.Millisecond }), "", sandbox.FaultTimeout, "call ran past the timeout of 20ms"},
		{"memory growth past the cap", behave("g", func(p *PluginSpec) { p.MemoryLimitBytes = 32 << 20 }), "grow", sandbox.FaultMemory, "wasm error"},
		{"one allocation past the cap", behave("g", func(p *PluginSpec) { p.MemoryLimitBytes = 32 << 20 }), "grow-once", sandbox.FaultMemory, "wasm error"},
		{"output that does not decode", behave("g"), "garbage", sandbox.FaultBadOutput, "decode result"},
		{"output outside memory", behave("g"), "badptr", sandbox.FaultBadOutput, "is outside memory"},
		{"error code", behave("g"), "errcode", sandbox.FaultBadOutput, "returned error code -2"},
		{"log text outside memory", behave("g"), "badlog", sandbox.FaultBadOutput, "log text [0x7fff0000, +100) is outside memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := newHost(t, Config{Plugins: []PluginSpec{tt.plugin}})
			name := tt.plugin.Name
			var before []Output
			if tt.trigger != "" {
				before = h.Apply(t.Context(), []Input{proc(1, "good")})
				if v, _ := tagValue(before[0].Tags, "test.name"); v != "good" {
					t.Fatalf("baseline tags = %v", before[0].Tags)
				}
			}
			bad := proc(1, tt.trigger)
			other := proc(2, "other")
			if tt.trigger == "" {
				bad.Record.PPID = 7
			}
			out := h.Apply(t.Context(), []Input{bad})
			eff := out[0].Effects[0]
			if got := faultKind(eff.Err); got != tt.kind || !strings.Contains(eff.Err.Error(), tt.want) {
				t.Fatalf("effect error = %v (kind %v), want %v containing %q", eff.Err, got, tt.kind, tt.want)
			}
			if before != nil && !slices.Equal(out[0].Tags, before[0].Tags) {
				t.Errorf("tags after the fault = %v, want the previous result %v", out[0].Tags, before[0].Tags)
			}
			st := pluginStats(t, h, name)
			if st.Faults[tt.kind.String()] != 1 {
				t.Errorf("faults = %v, want one %v", st.Faults, tt.kind)
			}
			if n := strings.Count(logs.String(), "plugin fault, previous results kept"); n != 1 || !strings.Contains(logs.String(), "plugin="+name) {
				t.Errorf("fault logged %d times, want once with the plugin's name:\n%s", n, logs)
			}
			// A fault of a record called alone is not retried until the
			// record changes.
			h.Apply(t.Context(), []Input{bad})
			if st2 := pluginStats(t, h, name); st2.Calls != st.Calls {
				t.Errorf("calls %d -> %d for the same faulting record, want none", st.Calls, st2.Calls)
			}
			// The host goes on with a fresh instance.
			if tt.trigger != "" {
				out = h.Apply(t.Context(), []Input{other})
				if v, _ := tagValue(out[0].Tags, "test.name"); v != "other" || out[0].Effects[0].Err != nil {
					t.Errorf("after the fault: %+v, want a working call", out[0])
				}
			}
		})
	}
}

// TestBreakerOpensAndProbes: repeated faults open the circuit; after the
// backoff one probe call decides; a failed probe doubles the backoff.
func TestBreakerOpensAndProbes(t *testing.T) {
	h, logs := newHost(t, Config{Plugins: []PluginSpec{behave("g")}})
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	h.now = clock.now
	tick := 0
	apply := func(name string) Output {
		t.Helper()
		tick++
		in := proc(1, name)
		in.Record.PPID = tick // a new record every tick, so it is called
		return h.Apply(t.Context(), []Input{in})[0]
	}
	calls := func() uint64 { return pluginStats(t, h, "g").Calls }
	apply("good")
	for range breakerThreshold {
		if eff := apply("trap").Effects[0]; faultKind(eff.Err) != sandbox.FaultTrap {
			t.Fatalf("effect = %+v, want a trap", eff)
		}
	}
	st := pluginStats(t, h, "g")
	if st.Breaker != BreakerOpen || st.BreakerOpens != 1 || !strings.Contains(logs.String(), "plugin circuit open") {
		t.Fatalf("after %d faults: breaker %v opens %d, want open and logged", breakerThreshold, st.Breaker, st.BreakerOpens)
	}
	n := calls()
	o := apply("good")
	if calls() != n || !errors.Is(o.Effects[0].Err, ErrNotCalled) {
		t.Errorf("open breaker: calls %d -> %d, effect %v; want no call", n, calls(), o.Effects[0].Err)
	}
	if v, _ := tagValue(o.Tags, "test.name"); v != "good" {
		t.Errorf("open breaker: tags %v, want the previous result kept", o.Tags)
	}
	// After the backoff one probe; it faults, so the backoff doubles.
	clock.add(breakerBase)
	apply("trap")
	if calls() != n+1 || pluginStats(t, h, "g").Breaker != BreakerOpen {
		t.Fatalf("probe: calls %d, breaker %v; want one call and open again", calls()-n, pluginStats(t, h, "g").Breaker)
	}
	clock.add(breakerBase)
	apply("good")
	if calls() != n+1 {
		t.Errorf("backoff did not double: called %d times %v after the failed probe", calls()-n-1, breakerBase)
	}
	clock.add(breakerBase)
	o = apply("good")
	if calls() != n+2 || pluginStats(t, h, "g").Breaker != BreakerClosed || o.Effects[0].Err != nil {
		t.Errorf("good probe: calls %d, breaker %v, effect %v; want closed", calls()-n, pluginStats(t, h, "g").Breaker, o.Effects[0].Err)
	}
	if !strings.Contains(logs.String(), "plugin circuit closed") {
		t.Error("closing not logged")
	}
}

// TestBatchFaultFindsTheCulprit: a batch with one bad record faults as a
// whole; the next tick calls its records alone, so the others get results
// and only the culprit is remembered as faulting.
func TestBatchFaultFindsTheCulprit(t *testing.T) {
	h, _ := newHost(t, Config{Plugins: []PluginSpec{behave("g")}})
	procs := []Input{proc(1, "a"), proc(2, "b"), proc(3, "trap"), proc(4, "d")}
	out := h.Apply(t.Context(), procs)
	for i, o := range out {
		if faultKind(o.Effects[0].Err) != sandbox.FaultTrap || len(o.Tags) != 0 {
			t.Fatalf("first tick proc %d: %+v, want the batch's trap and no tags", i, o)
		}
	}
	out = h.Apply(t.Context(), procs)
	for i, o := range out {
		_, tagged := tagValue(o.Tags, "test.name")
		if culprit := i == 2; tagged == culprit || (faultKind(o.Effects[0].Err) == sandbox.FaultTrap) != culprit {
			t.Errorf("second tick proc %d: %+v", i, o)
		}
	}
	st := pluginStats(t, h, "g")
	out = h.Apply(t.Context(), procs)
	if st2 := pluginStats(t, h, "g"); st2.Calls != st.Calls || faultKind(out[2].Effects[0].Err) != sandbox.FaultTrap {
		t.Errorf("third tick made %d calls, want none (culprit remembered)", st2.Calls-st.Calls)
	}
}

func TestInstanceRecycledWhenMemoryGrew(t *testing.T) {
	h, _ := newHost(t, Config{Plugins: []PluginSpec{behave("g", func(p *PluginSpec) {
		p.MemoryLimitBytes, p.Instances = 64<<20, 1
	})}})
	out := h.Apply(t.Context(), []Input{proc(1, "grow-once")})
	if out[0].Effects[0].Err != nil {
		t.Fatalf("grow-once: %v", out[0].Effects[0].Err)
	}
	if st := pluginStats(t, h, "g"); st.Instances != 0 || st.Recycled != 1 || len(st.Faults) != 0 {
		t.Errorf("instances %d recycled %d faults %v after growing past the mark, want the instance recycled without a fault", st.Instances, st.Recycled, st.Faults)
	}
	out = h.Apply(t.Context(), []Input{proc(2, "x")})
	if v, _ := tagValue(out[0].Tags, "test.name"); v != "x" {
		t.Errorf("after recycling: %+v", out[0])
	}
}
