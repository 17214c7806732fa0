package runner

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestGuestLines keeps what a plugin said at warn and error level, named
// by the plugin its logger carries, and passes every line on.
func TestGuestLines(t *testing.T) {
	tests := []struct {
		name string
		log  func(l hclog.Logger)
		want map[string][]string
	}{
		{
			name: "an error line of the guest is kept under its plugin",
			log: func(l hclog.Logger) {
				l.Named("wasmhost").With("plugin", "p1").Log(hclog.Error, guestOutput, "source", "log", "text", "no region")
			},
			want: map[string][]string{"p1": {"no region"}},
		},
		{
			name: "info lines and other messages are not",
			log: func(l hclog.Logger) {
				p := l.With("plugin", "p1")
				p.Log(hclog.Info, guestOutput, "source", "log", "text", "hello")
				p.Error("plugin not loaded", "text", "x")
			},
			want: map[string][]string{},
		},
		{
			name: "Warn and Error count, each plugin apart, the last lines only",
			log: func(l hclog.Logger) {
				a, b := l.With("plugin", "a"), l.With("plugin", "b")
				for _, s := range []string{"1", "2", "3", "4"} {
					a.Warn(guestOutput, "text", s)
				}
				b.Error(guestOutput, "source", "stderr", "text", "b says")
			},
			want: map[string][]string{"a": {"2", "3", "4"}, "b": {"b says"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var g guestLines
			base := hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Trace})
			tc.log(g.logger(base))
			for plugin, want := range tc.want {
				if got := g.of(plugin); !reflect.DeepEqual(got, want) {
					t.Errorf("of(%q) = %q, want %q", plugin, got, want)
				}
			}
			if len(tc.want) == 0 && len(g.lines) != 0 {
				t.Errorf("kept %v, want nothing", g.lines)
			}
			if !strings.Contains(out.String(), "plugin") {
				t.Errorf("the base logger got nothing:\n%s", out.String())
			}
		})
	}
}
