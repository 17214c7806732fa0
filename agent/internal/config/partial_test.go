package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadPartial loads configs with errors: the errors are those Load
// reports, and the config keeps every valid key, the bad ones at their
// defaults.
func TestLoadPartial(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		errs   []string // substrings of the error, in order; none = no error
		check  func(t *testing.T, c *Config)
		noConf bool
	}{
		{
			name: "a valid config is Load's",
			text: "os-proc-sync-enabled: true\n",
			check: func(t *testing.T, c *Config) {
				if !c.ProcSyncEnabled {
					t.Error("os-proc-sync-enabled lost")
				}
			},
		},
		{
			name: "bad values keep their defaults, the rest is kept",
			text: "os-proc-sync-enabled: true\ncmdline-redact: ['(']\nos-proc-regex:\n  - match-regex: java\n" +
				"plugins:\n  - name: p\n    path: p.wasm\n    tag-prefix: p/\n    timeout: 30s\n",
			errs: []string{":2: cmdline-redact[0]", ":9: plugins[0].timeout"},
			check: func(t *testing.T, c *Config) {
				if !c.ProcSyncEnabled || len(c.Rules) != 1 || c.Rules[0].MatchRegex != "java" {
					t.Errorf("valid keys lost: sync %v, rules %+v", c.ProcSyncEnabled, c.Rules)
				}
				if c.CmdlineRedactSet || c.CmdlineRedact != nil {
					t.Errorf("bad cmdline-redact kept: %q", c.CmdlineRedact)
				}
				if len(c.Plugins) != 1 || c.Plugins[0].Name != "p" || c.Plugins[0].Timeout != 100*time.Millisecond {
					t.Errorf("plugins = %+v, want p with the default timeout", c.Plugins)
				}
			},
		},
		{
			name:   "YAML that does not parse gives no config",
			text:   "os-proc-regex: [\n",
			errs:   []string{"invalid YAML"},
			noConf: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			c, _, err := LoadPartial(path)
			_, _, loadErr := Load(path)
			if (err == nil) != (loadErr == nil) || (err != nil && err.Error() != loadErr.Error()) {
				t.Errorf("LoadPartial error %v, Load's %v: want the same", err, loadErr)
			}
			rest := ""
			if err != nil {
				rest = err.Error()
			}
			for _, want := range tc.errs {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("error lacks %q (in order):\n%v", want, err)
				}
				rest = rest[i+len(want):]
			}
			if len(tc.errs) == 0 && err != nil {
				t.Fatalf("error %v, want none", err)
			}
			if tc.noConf != (c == nil) {
				t.Fatalf("config %v, want nil: %v", c != nil, tc.noConf)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
	if c, _, err := LoadPartial("/nonexistent/p.yaml"); c != nil || err == nil {
		t.Errorf("a missing file gave config %v, error %v", c, err)
	}
}
