package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/internal/sandbox/sandboxtest"
)

// TestCheckEveryKind checks testdata/check/every-kind.yaml, a config with
// one problem of every kind: config errors (a plugin timeout over its
// limit, a cmdline-redact pattern that does not compile), rules DeepFlow
// skips, a tag command that does not exist, a missing .wasm and a plugin
// whose init fails. One run must print them all, the failed init with the
// plugin's own words; the whole output is compared with a golden file.
func TestCheckEveryKind(t *testing.T) {
	dir := t.TempDir()
	sandboxtest.WatFile(t, "testdata/check/init-fails.wat", filepath.Join(dir, "init-fails.wasm"))
	sandboxtest.WatFile(t, "../../../plugins/wat-hello/wat-hello.wat", filepath.Join(dir, "wat-hello.wasm"))
	text, err := os.ReadFile("testdata/check/every-kind.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "every-kind.yaml")
	if err := os.WriteFile(cfg, text, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := execute(t, "check", "--config", cfg)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("err %v, want exit status 1", err)
	}
	golden(t, "check/every-kind.golden", []byte(strings.ReplaceAll(out, dir, "$DIR")))
}
