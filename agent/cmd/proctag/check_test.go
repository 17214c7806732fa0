package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		exitCode int      // 0 = success
		want     []string // lines the output must contain
	}{
		{
			name:   "typical DeepFlow config is clean",
			config: "os-proc-sync-enabled: true\nos-proc-regex:\n  - match-regex: java\n    action: accept\n",
			want:   []string{"0 error(s), 0 warning(s)"},
		},
		{
			name: "every bad rule is reported, with file and line",
			config: "os-proc-sync-enabled: true\nos-proc-regex:\n" +
				"  - match-regex: '(?=x)'\n" +
				"  - match-regex: a\n    action: allow\n" +
				"  - match-regex: b\n    match-type: Cmdline\n",
			exitCode: 1,
			want: []string{
				`check.yaml:3: os-proc-regex[0].match-regex`,
				`check.yaml:5: os-proc-regex[1].action: "allow"`, // the key's line, not the rule's
				`check.yaml:7: os-proc-regex[2].match-type: "Cmdline"`,
				"3 error(s)",
			},
		},
		{
			name:     "config errors are all listed",
			config:   "os-proc-sync-enabled: maybe\nos-proc-socket-sync-interval: -3\nbogus-key: 1\n",
			exitCode: 1,
			want:     []string{"check.yaml:1: os-proc-sync-enabled", "check.yaml:2: os-proc-socket-sync-interval", "check.yaml:3: bogus-key", "3 error(s)"},
		},
		{
			name:   "DeepFlow traps are warnings",
			config: "os-proc-sync-enabled: true\nos-proc-regex:\n  - match-regex: ''\n    rewrite-name: x\n  - match-regex: java\n",
			want:   []string{"warning: ", "0 error(s)"},
		},
		{
			name:   "sync disabled is a warning",
			config: "os-proc-regex: []\n",
			want:   []string{"os-proc-sync-enabled is false", "0 error(s), 1 warning(s)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := execute(t, "check", "--config", writeFile(t, "check.yaml", tc.config))
			code := 0
			var ee exitError
			if errors.As(err, &ee) {
				code = ee.code
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.exitCode {
				t.Errorf("exit code %d, want %d\n%s", code, tc.exitCode, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestRunWithSyncDisabledExitsZero(t *testing.T) {
	if _, err := execute(t, "run", "--config", writeFile(t, "off.yaml", "os-proc-sync-enabled: false\n")); err != nil {
		t.Fatalf("run with sync disabled: %v, want a hint and exit 0", err)
	}
}

func TestCheckMissingFile(t *testing.T) {
	out, err := execute(t, "check", "--config", "/nonexistent/proctag.yaml")
	if err == nil || !strings.Contains(out, "/nonexistent/proctag.yaml") {
		t.Fatalf("err %v, output %q: want exit 1 naming the file", err, out)
	}
}

// TestCheckPluginDir loads plugin-dir as the agent would: a corrupt module
// is an error naming it.
func TestCheckPluginDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.wasm"), []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "dir.yaml", "os-proc-sync-enabled: true\nplugin-dir: "+dir+"\n")
	out, err := execute(t, "check", "--config", cfg)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("err %v, want exit 1", err)
	}
	if !strings.Contains(out, "broken: ") || !strings.Contains(out, "not a WebAssembly 1 binary") || !strings.Contains(out, "1 error(s)") {
		t.Errorf("output does not report the corrupt module:\n%s", out)
	}
}
