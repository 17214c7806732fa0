package runner_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/runner"
)

// TestBuildProblems builds configs with problems: the fatal ones stop
// Build, every one of them named in its error; the others leave their
// part out and Build goes on, as the agent does.
func TestBuildProblems(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(c *config.Config)
		fatal []string // Build's error names each of these; none = Build succeeds
		parts []runner.Part
	}{
		{
			name: "a clean config builds",
			edit: func(c *config.Config) {},
		},
		{
			name: "a rule DeepFlow skips and a missing tag command are not fatal",
			edit: func(c *config.Config) {
				c.Rules = []rules.Spec{{MatchRegex: "(?=x)"}}
				c.TagExec = []string{"/nonexistent/proctag-tagger"}
				c.TagExecUser = "root"
			},
			parts: []runner.Part{runner.PartRules, runner.PartTagExec},
		},
		{
			name: "every fatal problem is reported at once",
			edit: func(c *config.Config) {
				c.Rules = []rules.Spec{{MatchRegex: "(?=x)"}}
				c.TagExec = []string{"/bin/true"}
				c.TagExecUser = "root"
				c.TagExecTimeout = -time.Second
				c.CmdlineRedact, c.CmdlineRedactSet = []string{"("}, true
				c.Plugins = []config.Plugin{{Name: "twice", Path: "/nonexistent/a.wasm"}, {Name: "twice", Path: "/nonexistent/b.wasm"}}
			},
			fatal: []string{
				"t.yaml: os-app-tag-exec: os-app-tag-exec-timeout: -1s is negative",
				"t.yaml: cmdline-redact: pattern 0: ",
				"t.yaml: plugin twice: configured twice",
			},
			parts: []runner.Part{runner.PartRules, runner.PartTagExec, runner.PartRedact, runner.PartPlugins},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.File = "t.yaml"
			tc.edit(&cfg)
			pt, err := runner.Build(t.Context(), &cfg, hclog.NewNullLogger(), "test", "")
			if len(tc.fatal) == 0 {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				pt.Close(t.Context())
			} else {
				if err == nil {
					pt.Close(t.Context())
					t.Fatal("Build succeeded, want an error")
				}
				for _, want := range tc.fatal {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("Build error lacks %q:\n%v", want, err)
					}
				}
				if p, ok := errors.AsType[runner.Problem](err); !ok || !p.Fatal {
					t.Errorf("Build error %v is not a fatal Problem", err)
				}
			}
			pt, rep := runner.Assemble(t.Context(), &cfg, hclog.NewNullLogger(), "test", "")
			if pt != nil {
				pt.Close(t.Context())
			}
			var got []runner.Part
			for _, p := range rep.Problems {
				if len(got) == 0 || got[len(got)-1] != p.Part {
					got = append(got, p.Part)
				}
			}
			if strings.Join(partNames(got), ",") != strings.Join(partNames(tc.parts), ",") {
				t.Errorf("problems in parts %v, want %v: %v", got, tc.parts, rep.Problems)
			}
		})
	}
}

func partNames(ps []runner.Part) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return s
}
