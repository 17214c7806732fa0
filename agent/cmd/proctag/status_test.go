package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginStatus prints a tenant's status file as the agent wrote it.
func TestPluginStatus(t *testing.T) {
	dir := t.TempDir()
	status := `{"tenant": "team", "dir": "` + dir + `", "updated": "2026-12-02T20:00:00Z",
  "plugins": [{"name": "greedy", "loaded": false, "error": "fields[1]: \"env\" is not allowed for tenant team", "calls": 0, "micros_per_call": 0, "breaker": "closed"},
              {"name": "good", "loaded": true, "calls": 4, "micros_per_call": 12.5, "faults": {"timeout": 1}, "last_fault": "plugin team/good: timeout: call ran past the timeout of 50ms", "breaker": "closed"}]}`
	if err := os.WriteFile(filepath.Join(dir, ".proctag-status.json"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "agent.yaml", "tenants:\n  - name: team\n    plugin-dir: "+dir+"\n    uids: [1000]\n    tag-prefix: team.\n")
	out, err := execute(t, "plugin", "status", "--config", cfg, "--tenant", "team")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tenant team", "greedy", `"env" is not allowed for tenant team`, "good", "timeout=1", "12.5"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := execute(t, "plugin", "status", "--config", cfg, "--tenant", "other"); err == nil {
		t.Error("an unknown tenant is not an error")
	}
}
