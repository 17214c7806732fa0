package wasmhost

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/sandbox"
)

func TestApplyTagsAndCaches(t *testing.T) {
	tests := []struct {
		name      string
		plugin    PluginSpec
		wantCalls uint64 // for 100 processes
		tag       func(i int) (key, value string)
	}{
		{"go guest with batch export", behave("b"), 2, // batches of 64
			func(i int) (string, string) { return "test.name", fmt.Sprintf("svc%d", i) }},
		{"hand-written module without batch export", handSpec("hand", func(p *PluginSpec) { p.Name = "b" }), 100,
			func(int) (string, string) { return "hand.k", "v" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHost(t, Config{Plugins: []PluginSpec{tt.plugin}})
			procs := make([]Input, 100)
			for i := range procs {
				procs[i] = proc(i+1, fmt.Sprintf("svc%d", i))
				procs[i].Record.Tags = []abi.Tag{{Key: "team", Value: "a"}}
			}
			out := h.Apply(t.Context(), procs)
			for i, o := range out {
				k, want := tt.tag(i)
				if v, _ := tagValue(o.Tags, k); v != want {
					t.Fatalf("proc %d tags = %v, want %s=%s", i, o.Tags, k, want)
				}
				if v, _ := tagValue(o.Tags, "team"); v != "a" || o.Tags[0].Key != "team" {
					t.Fatalf("proc %d tags = %v, want the input tag first", i, o.Tags)
				}
				if len(o.Effects) != 1 || !o.Effects[0].Called || o.Effects[0].Err != nil {
					t.Fatalf("proc %d effects = %+v, want one successful call", i, o.Effects)
				}
			}
			st := pluginStats(t, h, "b")
			if st.Calls != tt.wantCalls || st.Records != 100 || st.CacheHits != 0 {
				t.Errorf("first tick: calls %d records %d hits %d, want %d, 100, 0", st.Calls, st.Records, st.CacheHits, tt.wantCalls)
			}

			// A steady tick: nothing changed, no calls, same output.
			again := h.Apply(t.Context(), procs)
			st2 := pluginStats(t, h, "b")
			if st2.Calls != st.Calls || st2.CacheHits != 100 {
				t.Errorf("steady tick: calls %d -> %d, hits %d; want no calls and 100 hits", st.Calls, st2.Calls, st2.CacheHits)
			}
			for i := range again {
				if !slices.Equal(again[i].Tags, out[i].Tags) || again[i].Effects[0].Called {
					t.Fatalf("steady tick proc %d: %+v, want the cached result", i, again[i])
				}
			}

			// One record changes: one more record is sent.
			procs[7].Record.Tags = append(procs[7].Record.Tags, abi.Tag{Key: "new", Value: "1"})
			out = h.Apply(t.Context(), procs)
			st3 := pluginStats(t, h, "b")
			if st3.Records != 101 || st3.Calls != st2.Calls+1 {
				t.Errorf("one change: records %d calls %d, want 101 and %d", st3.Records, st3.Calls, st2.Calls+1)
			}
			if v, _ := tagValue(out[7].Tags, "new"); v != "1" || !out[7].Effects[0].Called {
				t.Errorf("changed proc: %+v", out[7])
			}
		})
	}
}

func TestApplyInputNotModified(t *testing.T) {
	h, _ := newHost(t, Config{Plugins: []PluginSpec{behave("b")}})
	in := []Input{proc(1, "svc")}
	in[0].Record.Tags = []abi.Tag{{Key: "test.name", Value: "old"}}
	out := h.Apply(t.Context(), in)
	if in[0].Record.Tags[0].Value != "old" {
		t.Errorf("Apply changed the input's tags to %v", in[0].Record.Tags)
	}
	if v, _ := tagValue(out[0].Tags, "test.name"); v != "svc" || len(out[0].Tags) != 3 {
		t.Errorf("output tags = %v, want test.name replaced by the plugin", out[0].Tags)
	}
}

func TestApplyGrantedActions(t *testing.T) {
	rename := behave("r", func(p *PluginSpec) { p.Capabilities = []string{"rename", "drop"} })
	after := behave("after")
	h, _ := newHost(t, Config{Plugins: []PluginSpec{rename, after}})
	out := h.Apply(t.Context(), []Input{proc(1, "rename"), proc(2, "drop")})
	if out[0].Name != "renamed-proc" || out[0].Drop {
		t.Errorf("rename: name %q drop %v, want renamed-proc", out[0].Name, out[0].Drop)
	}
	// The second plugin sees the first one's name.
	if v, _ := tagValue(out[0].Tags, "test.name"); v != "renamed-proc" {
		t.Errorf("second plugin saw name %q, want renamed-proc", v)
	}
	if !out[1].Drop || out[1].Effects[1].Skipped != "dropped" {
		t.Errorf("drop: %+v, want dropped and the second plugin skipped", out[1])
	}
	if st := pluginStats(t, h, "after"); st.Records != 1 {
		t.Errorf("second plugin got %d records, want 1 (the dropped process is not sent)", st.Records)
	}
}

func TestApplyRejectsViolations(t *testing.T) {
	tests := []struct {
		name   string
		caps   []string
		reason string
	}{
		{"colon", []string{"tag"}, `tag key "test.a:b": use letters, digits, _ . - / only (no ':', which DeepFlow drops)`},
		{"foreign", []string{"tag"}, `tag key "other.key" is outside the granted prefix "test."`},
		{"badvalue", []string{"tag"}, "tag test.v value has control character U+000A"},
		{"rename", []string{"tag"}, "rename is not granted"},
		{"drop", []string{"tag", "rename"}, "drop is not granted"},
		{"svc", []string{"rename"}, "tag is not granted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := newHost(t, Config{Plugins: []PluginSpec{behave("v", func(p *PluginSpec) { p.Capabilities = tt.caps })}})
			good := h.Apply(t.Context(), []Input{proc(1, "noop")})
			in := []Input{proc(1, tt.name)}
			out := h.Apply(t.Context(), in)
			eff := out[0].Effects[0]
			v, ok := errors.AsType[*sandbox.Violation](eff.Err)
			if !ok || v.Reason != tt.reason {
				t.Fatalf("effect error = %v, want a violation %q", eff.Err, tt.reason)
			}
			if out[0].Name != tt.name || out[0].Drop || !slices.Equal(out[0].Tags, good[0].Tags) {
				t.Errorf("output %+v applied a rejected result; want the previous tags %v", out[0], good[0].Tags)
			}
			st := pluginStats(t, h, "v")
			if st.Violations != 1 || !strings.Contains(logs.String(), "plugin output rejected") {
				t.Errorf("violations = %d, want 1 and a log line", st.Violations)
			}
			// Same input again: not called again, still rejected.
			out = h.Apply(t.Context(), in)
			if st2 := pluginStats(t, h, "v"); st2.Calls != st.Calls || !errors.Is(out[0].Effects[0].Err, sandbox.ErrNotGranted) {
				t.Errorf("repeat: calls %d -> %d, effect %v; want no call and the violation kept", st.Calls, st2.Calls, out[0].Effects[0].Err)
			}
		})
	}
}

func TestApplyFieldGrant(t *testing.T) {
	var envReads []int
	readEnv := func(pid int) ([]string, error) {
		envReads = append(envReads, pid)
		return []string{"A=1", "B=2"}, nil
	}
	tests := []struct {
		name    string
		fields  []string
		present string
		reads   int
	}{
		{"default is pid and the names", nil, "pid,name,process_name", 0},
		{"every field but env", allButEnv, "pid,ppid,start_time,name,process_name,argv,exe,uid,user,container_id,cgroup,tags,cmdline", 0},
		{"cmdline brings argv", []string{"name", "cmdline"}, "name,argv,cmdline", 0},
		{"env only when granted", []string{"pid", "name", "env"}, "pid,name,env", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envReads = nil
			h, _ := newHost(t, Config{ReadEnv: readEnv, Plugins: []PluginSpec{behave("f", func(p *PluginSpec) { p.Fields = tt.fields })}})
			in := []Input{proc(4, "fields")}
			in[0].Record.Tags = []abi.Tag{{Key: "k", Value: "v"}}
			out := h.Apply(t.Context(), in)
			if v, _ := tagValue(out[0].Tags, "test.present"); v != tt.present {
				t.Errorf("guest saw fields %q, want %q", v, tt.present)
			}
			h.Apply(t.Context(), in)
			if len(envReads) != tt.reads {
				t.Errorf("ReadEnv called %d times over two ticks, want %d", len(envReads), tt.reads)
			}
		})
	}
	t.Run("env reaches the guest", func(t *testing.T) {
		h, _ := newHost(t, Config{ReadEnv: readEnv, Plugins: []PluginSpec{behave("f", func(p *PluginSpec) { p.Fields = []string{"env", "name"} })}})
		out := h.Apply(t.Context(), []Input{proc(4, "env")})
		if v, _ := tagValue(out[0].Tags, "test.env"); v != "A=1;B=2" {
			t.Errorf("test.env = %q, want A=1;B=2", v)
		}
	})
}

func TestApplyScope(t *testing.T) {
	tests := []struct {
		name  string
		scope sandbox.Scope
		want  []bool // called for pids 1 (uid 1000, proc), 2 (uid 0, nginx)
	}{
		{"everything", sandbox.Scope{}, []bool{true, true}},
		{"uid", sandbox.Scope{UIDs: []int{0}}, []bool{false, true}},
		{"process name regex", sandbox.Scope{MatchRegex: "^ngin", MatchType: "process_name"}, []bool{false, true}},
		{"cmdline regex", sandbox.Scope{MatchRegex: "--flag", MatchType: "cmdline"}, []bool{true, false}},
		{"both must hold", sandbox.Scope{UIDs: []int{1000}, MatchRegex: "nginx"}, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHost(t, Config{Plugins: []PluginSpec{behave("s", func(p *PluginSpec) { p.Scope = tt.scope })}})
			nginx := proc(2, "svc")
			nginx.Record.UID, nginx.Record.ProcessName, nginx.Record.Cmdline = 0, "nginx", "nginx -g daemon off;"
			out := h.Apply(t.Context(), []Input{proc(1, "svc"), nginx})
			for i, o := range out {
				_, tagged := tagValue(o.Tags, "test.name")
				if tagged != tt.want[i] || (o.Effects[0].Skipped == "out of scope") == tt.want[i] {
					t.Errorf("pid %d: tagged %v, effect %+v; want called %v", i+1, tagged, o.Effects[0], tt.want[i])
				}
			}
		})
	}
}

func TestApplyForgetsExitedProcesses(t *testing.T) {
	h, _ := newHost(t, Config{Plugins: []PluginSpec{behave("b")}})
	h.Apply(t.Context(), []Input{proc(1, "a"), proc(2, "b")})
	h.Apply(t.Context(), []Input{proc(2, "b")})
	if n := len(h.results["b"]); n != 1 {
		t.Errorf("cache holds %d processes after pid 1 exited, want 1", n)
	}
	// pid 1 reused with a new start time is a new process: called again.
	reused := proc(1, "a")
	reused.Key.StartTicks++
	before := pluginStats(t, h, "b").Records
	h.Apply(t.Context(), []Input{reused, proc(2, "b")})
	if got := pluginStats(t, h, "b").Records - before; got != 1 {
		t.Errorf("records sent after pid reuse = %d, want 1", got)
	}
}

// TestSandbox: the guest tries to read the host's files, environment,
// arguments and clock; it gets none of them.
func TestSandbox(t *testing.T) {
	t.Setenv("PROCTAG_SECRET", "s3cret")
	h, _ := newHost(t, Config{Plugins: []PluginSpec{behave("s")}})
	out := h.Apply(t.Context(), []Input{proc(1, "sandbox")})
	want := map[string]string{"test.env": "0", "test.args": "0", "test.file": "false", "test.dir": "false"}
	for k, v := range want {
		if got, _ := tagValue(out[0].Tags, k); got != v {
			t.Errorf("%s = %q, want %q (tags %v)", k, got, v, out[0].Tags)
		}
	}
	if year, _ := tagValue(out[0].Tags, "test.year"); year == fmt.Sprint(time.Now().Year()) {
		t.Errorf("the guest read the real clock (year %s)", year)
	}
}

// TestApplyScopeFollowsRenames: the cached scope verdict is recomputed when
// the process's cmdline changes (an argv rewrite).
func TestApplyScopeFollowsRenames(t *testing.T) {
	h, _ := newHost(t, Config{Plugins: []PluginSpec{behave("s", func(p *PluginSpec) {
		p.Scope = sandbox.Scope{MatchRegex: "worker", MatchType: "cmdline"}
	})}})
	in := proc(1, "svc")
	steps := []struct {
		cmdline string
		called  bool
	}{{"app --role=worker", true}, {"app --role=worker", true}, {"app --role=api", false}, {"app --role=worker", true}}
	for i, s := range steps {
		in.Record.Cmdline = s.cmdline
		out := h.Apply(t.Context(), []Input{in})
		if skipped := out[0].Effects[0].Skipped == "out of scope"; skipped == s.called {
			t.Errorf("step %d (%s): effect %+v, want in scope %v", i, s.cmdline, out[0].Effects[0], s.called)
		}
	}
}
