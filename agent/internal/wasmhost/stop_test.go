package wasmhost

import (
	"testing"

	"github.com/proctag/proctag/agent/internal/sandbox"
)

// TestStopMode: every module that loads is instrumented and stopped
// inline, SIMD code included, and the stats say so.
func TestStopMode(t *testing.T) {
	for _, p := range []PluginSpec{behave("g"), handSpec("hand"), handSpec("simd_loop")} {
		t.Run(p.Name, func(t *testing.T) {
			h, _ := newHost(t, Config{Plugins: []PluginSpec{p}})
			if got := pluginStats(t, h, p.Name).StopMode; got != sandbox.StopInline {
				t.Errorf("StopMode = %v, want inline", got)
			}
		})
	}
}
