package plugintest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/sandbox"
	"github.com/proctag/proctag/sdk/sdktest"
)

// TestRunOnGeneratedTree runs the real jvm-name plugin on the basic fake
// host: the python process is renamed after its script, a process it does
// not know is unchanged, and a rename without the grant is reported as a
// violation.
func TestRunOnGeneratedTree(t *testing.T) {
	root := t.TempDir()
	if _, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", root, time.Hour); err != nil {
		t.Fatal(err)
	}
	wasm := filepath.Join(t.TempDir(), "jvm-name.wasm")
	if err := os.WriteFile(wasm, sdktest.Build(t, "../../../plugins/jvm-name"), 0o644); err != nil {
		t.Fatal(err)
	}
	grant := func(caps ...string) sandbox.Spec {
		return sandbox.Spec{
			TagPrefix:    "test.",
			Capabilities: caps, Fields: []string{"name", "process_name", "cmdline"},
			Timeout: time.Second, MemoryLimitBytes: 64 << 20, Instances: 1,
		}
	}
	cache := t.TempDir()
	// -race makes the compiler 10-20 times slower: on a loaded machine the
	// default compile-timeout of 30 s (a guard against compile bombs) was
	// not enough for this Go plugin.
	limits := sandbox.Limits{CompileTimeout: 10 * time.Minute}

	var out bytes.Buffer
	sum, err := Run(t.Context(), &out, Options{Path: wasm, Plugin: grant("rename"), Root: root, PID: 813, CacheDir: cache, Limits: limits}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Calls != 1 || sum.Changed != 1 || sum.Violations != 0 || sum.Faults != 0 {
		t.Errorf("summary %+v, want one call that changed the process", sum)
	}
	if !strings.Contains(out.String(), `-> rename to "billing"`) {
		t.Errorf("report lacks the rename of the python script:\n%s", out.String())
	}

	out.Reset()
	sum, err = Run(t.Context(), &out, Options{Path: wasm, Plugin: grant("tag"), Root: root, PID: 813, CacheDir: cache, Limits: limits}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Violations != 1 || !strings.Contains(out.String(), "would not apply") {
		t.Errorf("rename without the grant: summary %+v, want 1 violation reported:\n%s", sum, out.String())
	}

	out.Reset()
	sum, err = Run(t.Context(), &out, Options{Path: wasm, Plugin: grant("rename"), Root: root, CacheDir: cache, Limits: limits}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	// Every process with a cmdline is called: 8 in basic.yaml.
	if sum.Calls != 8 || sum.Faults != 0 || !strings.Contains(out.String(), "8 calls:") {
		t.Errorf("whole tree: summary %+v, want 8 calls without faults:\n%s", sum, out.String())
	}

	if _, err := Run(t.Context(), &out, Options{Path: wasm, Plugin: grant("rename"), Root: root, PID: 2, CacheDir: cache, Limits: limits}, hclog.NewNullLogger()); err == nil {
		t.Error("a kernel thread (no cmdline) was accepted as --pid")
	}
}
