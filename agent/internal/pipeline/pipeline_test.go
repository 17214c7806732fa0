package pipeline

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/tags"
	"github.com/proctag/proctag/agent/snapshot"
)

// basicTree writes testdata/proc/basic.yaml booted a day ago, so that every
// process is older than any min-lifetime used here.
func basicTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", dir, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tagScript writes an os-app-tag-exec script that prints out.
func tagScript(t *testing.T, out string) []string {
	t.Helper()
	dir := t.TempDir()
	// The script runs as nobody when the test runs as root.
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tags.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\ncat <<'EOF'\n"+out+"EOF\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{path}
}

func newPipeline(t *testing.T, root string, specs []rules.Spec, taggedOnly bool, tagOut string) *Pipeline {
	t.Helper()
	set, errs := rules.Compile(specs, func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cfg := Config{Root: root, Rules: set, TaggedOnly: taggedOnly, FullRescanEvery: 10}
	if tagOut != "" {
		user := "nobody"
		if os.Geteuid() != 0 {
			user = "" // not root: the runner runs as the current user
		}
		r, err := tags.New(tags.Config{Command: tagScript(t, tagOut), User: user, Timeout: 10 * time.Second}, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Tags = r
	}
	red, err := redact.Compile(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Redactor = red
	p, err := New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func byPID(s *snapshot.Snapshot) map[int]snapshot.Process {
	m := map[int]snapshot.Process{}
	for _, p := range s.Processes {
		m[p.PID] = p
	}
	return m
}

// TestTickTagsRulesAndInheritance checks the steps together on a fake host:
// tag exec tags feed a tag rule, the child inherits its parent's tags after
// its own, and the socket of a dropped process is not published.
func TestTickTagsRulesAndInheritance(t *testing.T) {
	root := basicTree(t)
	p := newPipeline(t, root, []rules.Spec{
		{MatchRegex: "^nginx: worker", MatchType: "cmdline", Action: "drop"},
		{MatchRegex: "^team:payments$", MatchType: "tag", RewriteName: "ignored"},
	}, false, `- pid: 812
  tags: [{key: team, value: payments}, {key: env, value: dev}]
- pid: 813
  tags: [{key: env, value: prod}]
`)
	snap, st, err := p.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	procs := byPID(snap)
	if _, ok := procs[901]; ok {
		t.Error("the nginx worker was dropped by rule 0 but is published")
	}
	bash, py := procs[812], procs[813]
	if bash.MatchedRule != 1 || bash.Name != "-bash" {
		t.Errorf("pid 812 = rule %d name %q; want the tag rule (1), rewrite ignored", bash.MatchedRule, bash.Name)
	}
	if py.Tags["env"] != "prod" || py.Tags["team"] != "payments" || len(py.Tags) != 2 {
		t.Errorf("pid 813 tags = %v; want its own env=prod and the inherited team=payments", py.Tags)
	}
	if py.MatchedRule != rules.ImplicitRule {
		t.Errorf("pid 813 matched rule %d; inherited tags must not match tag rules", py.MatchedRule)
	}
	for _, s := range snap.SocketList() {
		for _, pid := range s.PIDs {
			if pid == 901 {
				t.Errorf("socket %d lists the dropped pid 901", s.Inode)
			}
		}
	}
	if st.Processes != 10 || st.Reported != len(snap.Processes) || st.Sockets != snap.NumSockets() {
		t.Errorf("stats %+v do not match the snapshot (%d processes, %d sockets)", st, len(snap.Processes), snap.NumSockets())
	}
}

// TestTickTaggedOnly publishes only processes with a tag exec entry of their
// own, including one whose entry has no tags.
func TestTickTaggedOnly(t *testing.T) {
	root := basicTree(t)
	p := newPipeline(t, root, nil, true, "- pid: 400\n  tags: []\n- pid: 900\n  tags: [{key: role, value: web}]\n")
	snap, _, err := p.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := byPID(snap)
	if len(got) != 2 || got[400].PID != 400 || got[900].Tags["role"] != "web" {
		t.Errorf("tagged-only published %v; want exactly pids 400 and 900", got)
	}
}

// TestSteadyTickIsStable: a second tick of an unchanged host gives the same
// snapshot, and Explain works on what the last tick saw.
func TestSteadyTickIsStable(t *testing.T) {
	root := basicTree(t)
	p := newPipeline(t, root, []rules.Spec{{MatchRegex: `python3 (.*)\.py`, MatchType: "cmdline", RewriteName: "$1-py-script"}}, false, "")
	first, _, err := p.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := p.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := snapshot.Diff(first, second); !d.Empty() {
		t.Errorf("steady tick changed the snapshot: %+v", d)
	}
	// Nothing changed: the sockets are the first tick's, which Diff need
	// not walk.
	if len(second.SocketRows) == 0 || &first.SocketRows[0] != &second.SocketRows[0] {
		t.Errorf("steady tick made new sockets (%d) instead of reusing the last tick's (%d)", len(second.SocketRows), len(first.SocketRows))
	}
	if name := byPID(second)[813].Name; name != "/srv/app/billing-py-script --port 8080" {
		t.Errorf("pid 813 name %q; want DeepFlow's replace-all result", name)
	}
	x, ok := p.Explanation(813)
	if !ok || x.PID != 813 || !x.Verdict.Reported {
		t.Fatalf("explain of pid 813: ok %v, %+v", ok, x)
	}
	if _, ok := p.Explanation(424242); ok {
		t.Error("explain of an unknown pid succeeded")
	}
}

// TestTickSocketsInSnapshotOrder checks that a tick's sockets, which the
// collector hands over in the snapshot order and the pipeline does not
// sort again, are as Snapshot.Sort puts them: on a generated host with
// several namespaces, IPv4, IPv6 and IPv4-mapped addresses, on the cold
// tick and on one after a connection was replaced.
func TestTickSocketsInSnapshotOrder(t *testing.T) {
	tree := fakeproc.Generate(3000, 20000, 7)
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, dir, []rules.Spec{{MatchRegex: ".", MatchType: "cmdline"}}, false, "")
	check := func(when string) {
		t.Helper()
		snap, _, err := p.Tick(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		socks := snap.SocketList()
		if len(socks) < 10000 {
			t.Fatalf("%s: %d sockets, want the tree's", when, len(socks))
		}
		sorted := &snapshot.Snapshot{Sockets: slices.Clone(socks)}
		sorted.Sort()
		for i := range socks {
			if socks[i].Inode != sorted.Sockets[i].Inode {
				t.Fatalf("%s: socket %d is inode %d, Sort puts inode %d there", when, i, socks[i].Inode, sorted.Sockets[i].Inode)
			}
		}
	}
	check("cold tick")
	// Replace a connection of the first namespace's first process that
	// holds one, as a client reconnecting from another port.
	for ns, tabs := range tree.NetNS {
		if len(tabs.TCP) == 0 {
			continue
		}
		e := tabs.TCP[0]
		old := e.Inode
		e.Inode, e.Remote = 9_000_000, netip.AddrPortFrom(e.Remote.Addr(), e.Remote.Port()^1)
		for i := range tree.Procs {
			for f := range tree.Procs[i].FDs {
				if tree.Procs[i].FDs[f].Target == fakeproc.SocketTarget(old) {
					tree.Procs[i].FDs[f].Target = fakeproc.SocketTarget(e.Inode)
					if err := tree.Rewrite(dir, tree.Procs[i]); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		tabs.TCP[0] = e
		if err := os.WriteFile(filepath.Join(dir, ".fakeproc", "net", strconv.FormatUint(ns, 10), "tcp"), fakeproc.NetTable(fakeproc.TCP, tabs.TCP), 0o444); err != nil {
			t.Fatal(err)
		}
		break
	}
	check("after a connection was replaced")
}
