package config

import (
	"testing"

	"github.com/proctag/proctag/agent/internal/rules"
)

// TestExampleRulesCompile: the rules of every shipped example compile in
// the rules package (none is skipped as DeepFlow would skip it), and the
// demo's rules raise none of `proctag check`'s DeepFlow-trap warnings.
func TestExampleRulesCompile(t *testing.T) {
	tests := []struct {
		file      string
		wantClean bool // no lint warnings
	}{
		{"demo.yaml", true},
		{"deepflow-typical.yaml", false},     // the docs' python rewrite keeps trailing arguments
		{"deepflow-agent-group.yaml", false}, // the same python rewrite
		{"full.yaml", false},
		{"minimal.yaml", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, _ := load(t, tt.file)
			set, errs := rules.Compile(cfg.Rules, func(string) (string, bool) { return "web-01", true })
			for _, e := range errs {
				t.Errorf("rule %d (%s:%d) is skipped: %s: %v", e.Index, e.Spec.File, e.Spec.Line, e.Key, e.Err)
			}
			if tt.wantClean {
				for _, w := range set.Lint() {
					t.Errorf("lint: rule %d line %d: %s", w.Index, w.Line, w.Msg)
				}
			}
		})
	}
}
