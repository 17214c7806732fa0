package scan

import (
	"slices"
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/internal/caps"
)

func TestUnseen(t *testing.T) {
	tests := []struct {
		name        string
		have        caps.Set
		wantMissing []caps.Cap
		wantSays    []string
	}{
		{name: "both granted", have: caps.Of(caps.SysPtrace, caps.DACReadSearch)},
		{name: "root's full set", have: ^caps.Set(0)},
		{name: "none", wantMissing: []caps.Cap{caps.SysPtrace, caps.DACReadSearch},
			wantSays: []string{"CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH", "sockets", "exe links", "environments"}},
		{name: "no ptrace", have: caps.Of(caps.DACReadSearch, caps.SetUID), wantMissing: []caps.Cap{caps.SysPtrace},
			wantSays: []string{"running without CAP_SYS_PTRACE:", "sockets", "exe links"}},
		{name: "no dac_read_search", have: caps.Of(caps.SysPtrace), wantMissing: []caps.Cap{caps.DACReadSearch},
			wantSays: []string{"running without CAP_DAC_READ_SEARCH:", "sockets", "environments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, missing := Unseen(tt.have)
			if !slices.Equal(missing, tt.wantMissing) {
				t.Errorf("missing = %v, want %v", missing, tt.wantMissing)
			}
			if (msg == "") != (len(tt.wantSays) == 0) {
				t.Fatalf("notice = %q, want one only when something is missing", msg)
			}
			for _, w := range tt.wantSays {
				if !strings.Contains(msg, w) {
					t.Errorf("notice %q does not say %q", msg, w)
				}
			}
		})
	}
}
