package wasmhost

import (
	"strings"
	"testing"
)

func TestGuestOutputReachesTheLog(t *testing.T) {
	h, logs := newHost(t, Config{Plugins: []PluginSpec{behave("talker", func(p *PluginSpec) { p.Config = []byte("prefix=test.,log-init") })}})
	h.Apply(t.Context(), []Input{proc(1, "log"), proc(2, "stdout")})
	out := logs.String()
	for _, want := range [][]string{
		{"plugin output", "plugin=talker", "source=log", `text="init ok"`},
		{"[WARN]", "source=log", `text="hello from the guest"`},
		{"source=stdout", `text="printed line"`},
	} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			found = found || containsAll(line, want...)
		}
		if !found {
			t.Errorf("no log line with %q:\n%s", want, out)
		}
	}
}
