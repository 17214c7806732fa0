package rules

import (
	"testing"
)

// DESIGN.md "Which processes": "A process with no argv left (kernel
// threads, empty cmdline) is never reported and is not a parent for
// parent_process_name. process_name = the last path element of argv[0]
// (... `..`, `/` give no name and the process is skipped ...). name starts
// as process_name."
func TestWhichProcesses(t *testing.T) {
	kthread := Proc{PID: 2, PPID: 0}
	noName := p(3, 1, "", "/ x")
	parentRule := []Spec{{MatchRegex: ".*", MatchType: "parent_process_name", Action: "drop"}}
	tests := []struct {
		name  string
		specs []Spec
		procs []Proc
		wants []want
	}{
		{"no argv is never reported", nil, []Proc{kthread},
			[]want{{pid: 2, rule: NoRule, reason: ReasonNoArgv}}},
		{"no process name is skipped", nil, []Proc{noName},
			[]want{{pid: 3, rule: NoRule, reason: ReasonNoName}}},
		{"name starts as process_name", nil, []Proc{p(10, 1, "nginx", "/usr/sbin/nginx -g daemon")},
			[]want{{pid: 10, reported: true, name: "nginx", rule: ImplicitRule}}},
		{"a process without argv is not a parent", parentRule, []Proc{kthread, p(20, 2, "kworker-child", "x")},
			[]want{{pid: 20, reported: true, name: "kworker-child", rule: ImplicitRule}}},
		// linux_process.rs: ProcessData::try_from fails when file_name() is
		// None, so such a process is missing from pid_proc_map.
		{"a process without a name is not a parent", parentRule, []Proc{noName, p(21, 3, "child", "child")},
			[]want{{pid: 21, reported: true, name: "child", rule: ImplicitRule}}},
		{"a process with argv is a parent", parentRule, []Proc{p(4, 0, "init", "init"), p(22, 4, "child", "child")},
			[]want{{pid: 22, rule: 0, reason: "dropped by rule 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkVerdicts(t, tt.procs, evaluate(t, tt.specs, tt.procs, false), tt.wants)
		})
	}
}

// DESIGN.md "min-lifetime": "a process younger than
// os-proc-socket-min-lifetime seconds is not reported (checked before
// rules), but it still counts as a parent for parent_process_name."
func TestMinLifetime(t *testing.T) {
	young := p(5, 1, "java", "java -jar app.jar")
	young.Young = true
	tests := []struct {
		name      string
		specs     []Spec
		procs     []Proc
		wants     []want
		wantEvals uint64
	}{
		{"young process is not reported", nil, []Proc{young},
			[]want{{pid: 5, rule: NoRule, reason: ReasonYoung}}, 0},
		{"checked before rules: no regex runs", []Spec{{MatchRegex: "java"}}, []Proc{young},
			[]want{{pid: 5, rule: NoRule, reason: ReasonYoung}}, 0},
		{"young process still counts as a parent", []Spec{{MatchRegex: "^java$", MatchType: "parent_process_name", Action: "drop"}},
			[]Proc{young, p(6, 5, "worker", "worker")},
			[]want{{pid: 5, rule: NoRule, reason: ReasonYoung}, {pid: 6, rule: 0, reason: "dropped by rule 0"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEvaluator(mustCompile(t, tt.specs, nil), false)
			checkVerdicts(t, tt.procs, e.Evaluate(tt.procs), tt.wants)
			if e.evals != tt.wantEvals {
				t.Errorf("regex evaluations = %d, want %d", e.evals, tt.wantEvals)
			}
		})
	}
}

// DESIGN.md "Rule defaults": "the built-in list when os-proc-regex is
// absent is one accept-all rule. In a rule, an omitted key is the empty
// string: regex "" (matches everything ...), match-type "" = process_name,
// action "" = accept, rewrite "" = none. A user list replaces the default,
// and an accept-all rule is appended."
func TestRuleDefaults(t *testing.T) {
	procs := []Proc{p(10, 1, "nginx", "nginx -g daemon"), p(11, 1, "redis-server", "redis-server *:6379")}
	tests := []struct {
		name  string
		specs []Spec
		wants []want
	}{
		{"absent list accepts everything by the implicit rule", nil,
			[]want{{pid: 10, reported: true, name: "nginx", rule: ImplicitRule, reason: "accepted by the implicit accept-all rule"},
				{pid: 11, reported: true, name: "redis-server", rule: ImplicitRule}}},
		{"all keys omitted: matches everything, accepts, no rewrite", []Spec{{}},
			[]want{{pid: 10, reported: true, name: "nginx", rule: 0, reason: "accepted by rule 0"},
				{pid: 11, reported: true, name: "redis-server", rule: 0}}},
		{"omitted action is accept", []Spec{{MatchRegex: "nginx"}},
			[]want{{pid: 10, reported: true, name: "nginx", rule: 0}}},
		{"omitted match-type is process_name, not cmdline", []Spec{{MatchRegex: "daemon", Action: "drop"}},
			[]want{{pid: 10, reported: true, name: "nginx", rule: ImplicitRule}}},
		{"explicit process_name equals omitted", []Spec{{MatchRegex: "^nginx$", MatchType: "process_name", Action: "drop"}},
			[]want{{pid: 10, rule: 0, reason: "dropped by rule 0"}}},
		{"user list replaces the default and accept-all is appended", []Spec{{MatchRegex: "^nginx$", Action: "drop"}},
			[]want{{pid: 10, rule: 0}, {pid: 11, reported: true, name: "redis-server", rule: ImplicitRule}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkVerdicts(t, procs, evaluate(t, tt.specs, procs, false), tt.wants)
		})
	}
}

// DESIGN.md "Order": "rules in order; the first rule whose regex matches
// decides; unanchored match. drop → not reported. accept → rewrite (only
// process_name and cmdline rules rewrite)."
func TestOrder(t *testing.T) {
	procs := []Proc{p(10, 1, "nginx", "nginx: master process"), p(11, 1, "sshd", "sshd -D")}
	tests := []struct {
		name  string
		specs []Spec
		wants []want
	}{
		{"first match decides over a later drop", []Spec{{MatchRegex: "nginx", RewriteName: "web"}, {MatchRegex: "nginx", Action: "drop"}},
			[]want{{pid: 10, reported: true, name: "web", rule: 0}}},
		{"first match decides over a later accept", []Spec{{MatchRegex: "nginx", Action: "drop"}, {MatchRegex: "nginx", RewriteName: "web"}},
			[]want{{pid: 10, rule: 0, reason: "dropped by rule 0"}}},
		{"unanchored: a substring matches", []Spec{{MatchRegex: "gin", Action: "drop"}},
			[]want{{pid: 10, rule: 0}, {pid: 11, reported: true, name: "sshd", rule: ImplicitRule}}},
		{"non-matching rules are passed over", []Spec{{MatchRegex: "^x"}, {MatchRegex: "^y"}, {MatchRegex: "sh", RewriteName: "ssh"}},
			[]want{{pid: 11, reported: true, name: "ssshd", rule: 2}}}, // only the match is replaced
		{"drop is not reported, with the rule in the reason", []Spec{{MatchRegex: "sshd", Action: "drop"}},
			[]want{{pid: 11, rule: 0, reason: "dropped by rule 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkVerdicts(t, procs, evaluate(t, tt.specs, procs, false), tt.wants)
		})
	}
}

// DESIGN.md "parent_process_name": "starts at the parent (the process
// itself is never tested), walks up without a depth limit (guard against
// cycles), testing each ancestor's raw process_name (never a rewritten
// name); a missing parent or ppid 0 ends the walk with no match. Any action
// works; rewrite-name is ignored."
func TestParentProcessName(t *testing.T) {
	tree := []Proc{p(1, 0, "systemd", "/sbin/init"), p(100, 1, "containerd", "containerd"),
		p(200, 100, "shim", "containerd-shim"), p(300, 200, "java", "java -jar a.jar")}
	deep := []Proc{p(1, 0, "root", "root")}
	for pid := 2; pid <= 500; pid++ {
		deep = append(deep, p(pid, pid-1, "n", "n"))
	}
	cycle := []Proc{p(7, 8, "a", "a"), p(8, 7, "b", "b")}
	tests := []struct {
		name  string
		specs []Spec
		procs []Proc
		wants []want
	}{
		{"the process itself is never tested", []Spec{{MatchRegex: "^java$", MatchType: "parent_process_name", Action: "drop"}}, tree,
			[]want{{pid: 300, reported: true, name: "java", rule: ImplicitRule}}},
		{"starts at the parent", []Spec{{MatchRegex: "^shim$", MatchType: "parent_process_name", Action: "drop"}}, tree,
			[]want{{pid: 300, rule: 0}, {pid: 200, reported: true, name: "shim", rule: ImplicitRule}}},
		{"walks up to every ancestor", []Spec{{MatchRegex: "^containerd$", MatchType: "parent_process_name", Action: "drop"}}, tree,
			[]want{{pid: 300, rule: 0}, {pid: 200, rule: 0}, {pid: 100, reported: true, name: "containerd", rule: ImplicitRule}}},
		{"no depth limit", []Spec{{MatchRegex: "^root$", MatchType: "parent_process_name", Action: "drop"}}, deep,
			[]want{{pid: 500, rule: 0}, {pid: 1, reported: true, name: "root", rule: ImplicitRule}}},
		{"raw process_name, never the rewritten name",
			[]Spec{{MatchRegex: "^containerd$", RewriteName: "runtime"}, {MatchRegex: "runtime", MatchType: "parent_process_name", Action: "drop"}}, tree,
			[]want{{pid: 100, reported: true, name: "runtime", rule: 0}, {pid: 200, reported: true, name: "shim", rule: ImplicitRule}}},
		{"ppid 0 ends the walk without a match", []Spec{{MatchRegex: "", MatchType: "parent_process_name", Action: "drop"}}, tree,
			[]want{{pid: 1, reported: true, name: "systemd", rule: ImplicitRule}, {pid: 100, rule: 0}}},
		{"a missing parent ends the walk without a match", []Spec{{MatchRegex: "", MatchType: "parent_process_name", Action: "drop"}},
			[]Proc{p(50, 49, "orphan", "orphan")},
			[]want{{pid: 50, reported: true, name: "orphan", rule: ImplicitRule}}},
		{"a ppid cycle ends without a match", []Spec{{MatchRegex: "^zzz$", MatchType: "parent_process_name", Action: "drop"}}, cycle,
			[]want{{pid: 7, reported: true, name: "a", rule: ImplicitRule}, {pid: 8, reported: true, name: "b", rule: ImplicitRule}}},
		{"a cycle does not test the process itself", []Spec{{MatchRegex: "^a$", MatchType: "parent_process_name", Action: "drop"}}, cycle,
			[]want{{pid: 7, reported: true, name: "a", rule: ImplicitRule}, {pid: 8, rule: 0}}},
		{"accept works and rewrite-name is ignored",
			[]Spec{{MatchRegex: "shim", MatchType: "parent_process_name", RewriteName: "renamed"}, {Action: "drop"}}, tree,
			[]want{{pid: 300, reported: true, name: "java", rule: 0}, {pid: 200, rule: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkVerdicts(t, tt.procs, evaluate(t, tt.specs, tt.procs, false), tt.wants)
		})
	}
}

// DESIGN.md "tag": "matches when key:value of any of the process's own
// tag-exec tags matches (inherited tags are not tested); rewrite-name is
// ignored."
func TestTagRule(t *testing.T) {
	parent := withTags(p(10, 1, "supervisor", "supervisor"), "env", "prod")
	child := p(11, 10, "worker", "worker")
	multi := withTags(p(12, 1, "api", "api"), "team", "pay", "env", "prod")
	emptyTags := withTags(p(13, 1, "batch", "batch"))
	procs := []Proc{parent, child, multi, emptyTags}
	tests := []struct {
		name  string
		specs []Spec
		wants []want
	}{
		{"key:value of an own tag matches", []Spec{{MatchRegex: "^env:prod$", MatchType: "tag", Action: "drop"}},
			[]want{{pid: 10, rule: 0}, {pid: 12, rule: 0}}},
		{"any own tag, not only the first", []Spec{{MatchRegex: "^env:", MatchType: "tag", Action: "drop"}},
			[]want{{pid: 12, rule: 0}}},
		{"inherited tags are not tested", []Spec{{MatchRegex: "env:prod", MatchType: "tag", Action: "drop"}},
			[]want{{pid: 11, reported: true, name: "worker", rule: ImplicitRule}}},
		{"an entry with tags: [] never matches", []Spec{{MatchRegex: "", MatchType: "tag", Action: "drop"}},
			[]want{{pid: 13, reported: true, name: "batch", rule: ImplicitRule}, {pid: 12, rule: 0}}},
		{"rewrite-name is ignored", []Spec{{MatchRegex: "team:(.*)", MatchType: "tag", RewriteName: "$1"}},
			[]want{{pid: 12, reported: true, name: "api", rule: 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkVerdicts(t, procs, evaluate(t, tt.specs, procs, false), tt.wants)
		})
	}
}

// DESIGN.md "tagged-only": "decided on the process's own entry, after the
// rules (a drop still wins), before inheritance." And "Tag exec": "an entry
// with tags: [] still counts as tagged".
func TestTaggedOnly(t *testing.T) {
	parent := withTags(p(10, 1, "supervisor", "supervisor"), "env", "prod")
	child := p(11, 10, "worker", "worker")
	empty := withTags(p(12, 1, "batch", "batch"))
	tagged := withTags(p(13, 1, "dropme", "dropme"), "k", "v")
	procs := []Proc{parent, child, empty, tagged}
	specs := []Spec{{MatchRegex: "dropme", Action: "drop"}, {MatchRegex: "batch", RewriteName: "job"}}
	tests := []struct {
		name       string
		taggedOnly bool
		wants      []want
	}{
		{"off: everyone accepted is reported", false,
			[]want{{pid: 11, reported: true, name: "worker", rule: ImplicitRule}}},
		{"on: a process with tags is reported", true,
			[]want{{pid: 10, reported: true, name: "supervisor", rule: ImplicitRule}}},
		{"on: an entry with tags: [] counts as tagged", true,
			[]want{{pid: 12, reported: true, name: "job", rule: 1}}},
		{"on: inherited tags do not make a process tagged", true,
			[]want{{pid: 11, rule: ImplicitRule, reason: ReasonNotTagged}}},
		{"on: a drop still wins", true,
			[]want{{pid: 13, rule: 0, reason: "dropped by rule 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkVerdicts(t, procs, evaluate(t, specs, procs, tt.taggedOnly), tt.wants)
		})
	}
}
