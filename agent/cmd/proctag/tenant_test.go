package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/sdk/sdktest"
)

// startAs starts /bin/sleep as uid with argv[0] name and returns its pid.
func startAs(t *testing.T, name string, uid uint32) int {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "600")
	cmd.Args[0] = name
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// TestTenantPluginsSeeOnlyTheirUsers runs `proctag scan` on the real /proc
// with processes of two uids, an operator plugin and a tenant directory
// holding a tagger, a plugin that traps on every call and one whose
// manifest asks for more than the tenant's ceiling. The tenant's tagger
// tags only its uid's process, the trapping plugin stops neither the
// operator's plugin nor the tagger, and the greedy one never loads.
func TestTenantPluginsSeeOnlyTheirUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test starts processes as other users: run it as root (CI does)")
	}
	build := t.TempDir()
	wasm, err := sdktest.BuildTo("../../../plugins/static-tags", build)
	if err != nil {
		t.Fatal(err)
	}
	trap, err := os.ReadFile("../../internal/sandbox/testdata/modules/unreachable.wasm")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "payments")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"tagger.wasm": wasm,
		"tagger.yaml": []byte("config:\n  - match: ^svc-\n    on: process_name\n    tags: {payments.team: payments}\n"),
		"crash.wasm":  trap,
		"greedy.wasm": wasm,
		"greedy.yaml": []byte("fields: [pid, env]\ncapabilities: [tag, drop]\nmemory-limit: 1GiB\ntimeout: 5s\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mine, other := startAs(t, "svc-mine", 1001), startAs(t, "svc-other", 1002)
	// The agent runs in this test binary, which -race makes compile a Go
	// plugin 10-20 times slower: on a loaded machine that passed the
	// default compile-timeout of 30 s, which guards against compile bombs
	// and is not what this test is about.
	cfg := writeFile(t, "agent.yaml", `
os-proc-socket-min-lifetime: 0
plugin-limits:
  compile-timeout: 10m
os-proc-regex:
  - match-regex: ^svc-
  - match-regex: ""
    action: drop
plugins:
  - name: ops
    path: `+filepath.Join(build, "static-tags.wasm")+`
    tag-prefix: acme.io/
    config:
      - match: ^svc-
        on: process_name
        tags: {acme.io/owner: ops}
tenants:
  - name: payments
    plugin-dir: `+dir+`
    uids: [1001]
    tag-prefix: payments.
    memory-limit: 32MiB
    timeout: 1s
`)
	out, err := execute(t, "scan", "--config", cfg, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var snap snapshot.Snapshot
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatalf("scan output: %v\n%s", err, out)
	}
	tags := map[int]map[string]string{}
	for _, p := range snap.Processes {
		tags[p.PID] = p.Tags
	}
	if tags[mine]["acme.io/owner"] != "ops" || tags[other]["acme.io/owner"] != "ops" {
		t.Errorf("the operator's plugin did not tag both processes: %v, %v", tags[mine], tags[other])
	}
	if tags[mine]["payments.team"] != "payments" {
		t.Errorf("the tenant's tagger did not tag its uid's process: %v", tags[mine])
	}
	for k := range tags[other] {
		if strings.HasPrefix(k, "payments.") {
			t.Errorf("the tenant's plugin tagged another user's process: %v", tags[other])
		}
	}
}
