package runner

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/publish"
)

// TestDirsFollowSystemd checks that the wasm cache and the JetStream store
// go where the unit's CacheDirectory= and StateDirectory= point, which is
// all ProtectSystem=strict leaves writable.
func TestDirsFollowSystemd(t *testing.T) {
	fallbackCache, fallbackState := "", ""
	if os.Geteuid() == 0 {
		fallbackCache, fallbackState = "/var/cache/proctag/wasm", "/var/lib/proctag/jetstream"
	}
	tests := []struct {
		name      string
		cache     string
		state     string
		wantCache string
		wantState string
	}{
		{name: "both set", cache: "/var/cache/proctag", state: "/var/lib/proctag",
			wantCache: "/var/cache/proctag/wasm", wantState: "/var/lib/proctag/jetstream"},
		{name: "state only", state: "/var/lib/proctag",
			wantCache: "/var/lib/proctag/wasm-cache", wantState: "/var/lib/proctag/jetstream"},
		{name: "several directories: the first", cache: "/var/cache/proctag:/var/cache/other", state: "/srv/state:/srv/more",
			wantCache: "/var/cache/proctag/wasm", wantState: "/srv/state/jetstream"},
		{name: "relative is ignored", cache: "cache", state: "state", wantCache: fallbackCache, wantState: fallbackState},
		{name: "unset", wantCache: fallbackCache, wantState: fallbackState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CACHE_DIRECTORY", tt.cache)
			t.Setenv("STATE_DIRECTORY", tt.state)
			gotCache, gotState := WasmCacheDir(), stateDir("jetstream")
			// Without systemd's variables a non-root user's directories
			// depend on $HOME; only their shape is checked.
			if tt.wantCache == "" {
				if filepath.Base(gotCache) != "wasm" && filepath.Base(gotCache) != "proctag-wasm" {
					t.Errorf("WasmCacheDir() = %s, want a user cache directory", gotCache)
				}
			} else if gotCache != tt.wantCache {
				t.Errorf("WasmCacheDir() = %s, want %s", gotCache, tt.wantCache)
			}
			if tt.wantState == "" {
				if filepath.Base(gotState) != "jetstream" && filepath.Base(gotState) != "proctag-jetstream" {
					t.Errorf("stateDir() = %s, want a user directory", gotState)
				}
			} else if gotState != tt.wantState {
				t.Errorf("stateDir() = %s, want %s", gotState, tt.wantState)
			}
		})
	}
}

// TestPublishConfigCarriesStreamLimits checks that nats.jetstream-limits,
// replicas included, reach the publisher, which applies them to the stream.
func TestPublishConfigCarriesStreamLimits(t *testing.T) {
	cfg := config.Default()
	cfg.NATS.JetStreamLimits = config.JetStreamLimits{MaxBytes: 5 << 20, MaxMsgSizeBytes: 64 << 10, MaxMsgsPerSubject: 9, MaxAge: time.Hour, Replicas: 3}
	got := publishConfig(&cfg, "nats://127.0.0.1:4222", "h1").StreamLimits
	want := publish.StreamLimits{MaxBytes: 5 << 20, MaxMsgSizeBytes: 64 << 10, MaxMsgsPerSubject: 9, MaxAge: time.Hour, Replicas: 3}
	if got != want {
		t.Fatalf("stream limits %+v, want %+v", got, want)
	}
}
