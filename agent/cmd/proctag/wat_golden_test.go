package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestScanWithWatPlugin runs `proctag scan` on the basic fake tree with the
// demo rules and one hand-written module loaded twice: granted rename and
// tag for the nginx processes (they are renamed and tagged), granted tag
// only for redis (its every result carries a rename, so each is refused
// whole as a grant fault and redis is published as the rules named it).
// The whole snapshot is compared with a golden file, and the refusal must
// be logged with its kind.
func TestScanWithWatPlugin(t *testing.T) {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm is not installed: run `make deps` or `apt-get install -y wabt`")
	}
	work := t.TempDir()
	wasm := filepath.Join(work, "rename-tag.wasm")
	if b, err := exec.Command("wat2wasm", "testdata/wat/rename-tag.wat", "-o", wasm).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	rules, err := os.ReadFile("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(work, "proctag.yaml")
	plugins := `
plugins:
  - name: wat-nginx
    path: rename-tag.wasm
    capabilities: [rename, tag]
    tag-prefix: wat/
    fields: [pid]
    scope: {match-regex: '^nginx'}
  - name: wat-redis
    path: rename-tag.wasm
    capabilities: [tag]
    tag-prefix: wat/
    fields: [pid]
    scope: {match-regex: '^redis'}
`
	if err := os.WriteFile(cfg, append(rules, plugins...), 0o644); err != nil {
		t.Fatal(err)
	}
	proc := t.TempDir()
	tree, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", proc, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	root := newRoot()
	var out, log bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&log)
	root.SetArgs([]string{"scan", "--config", cfg, "--proc-root", proc, "--format", "json"})
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("scan: %v\n%s", err, log.String())
	}
	golden(t, "scan-wat.json.golden", normalizeScan(t, out.String(), tree.BootTime))
	if !strings.Contains(log.String(), "plugin=wat-redis") || !strings.Contains(log.String(), "kind=grant") {
		t.Errorf("the refused results are not logged as a grant fault of wat-redis:\n%s", log.String())
	}
}
