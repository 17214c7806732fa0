package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/explain"
	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestExplainFormats explains processes of the basic fake tree with the
// demo rules, as text and as JSON, against golden files; both formats
// print the same value.
func TestExplainFormats(t *testing.T) {
	dir := t.TempDir()
	if _, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", dir, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pid    string
		format string
		golden string
	}{
		{"813", "text", "explain-813.golden"},
		{"813", "json", "explain-813.json.golden"},
		{"901", "text", "explain-901.golden"},
	}
	for _, tc := range tests {
		t.Run(tc.pid+" "+tc.format, func(t *testing.T) {
			out, err := execute(t, "explain", "--config", "testdata/rules.yaml", "--proc-root", dir, "--pid", tc.pid, "--format", tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if tc.format == "json" {
				var x explain.Process
				if err := json.Unmarshal([]byte(out), &x); err != nil {
					t.Fatalf("not an explanation: %v\n%s", err, out)
				}
			}
			golden(t, tc.golden, []byte(out))
		})
	}
	if _, err := execute(t, "explain", "--config", "testdata/rules.yaml", "--proc-root", dir, "--pid", "813", "--format", "yaml"); err == nil || !strings.Contains(err.Error(), "not text or json") {
		t.Errorf("--format yaml: err %v, want a refusal", err)
	}
}
