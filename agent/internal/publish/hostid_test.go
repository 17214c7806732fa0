package publish

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/snapshot"
)

func TestHostID(t *testing.T) {
	withMachineID := func(content string) string {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc", "machine-id"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return root
	}
	hostname, _ := os.Hostname()
	tests := []struct {
		name       string
		configured string
		root       string
		want       string
	}{
		{"configured wins over machine-id", "web-1", withMachineID("abc\n"), "web-1"},
		{"machine-id with its newline", "", withMachineID("0123456789abcdef0123456789abcdef\n"), "0123456789abcdef0123456789abcdef"},
		{"dots and wildcards become underscores", "web.prod.*>", t.TempDir(), "web_prod___"},
		{"white space and unicode become underscores", " db 1\tü ", t.TempDir(), "db_1__"},
		{"empty machine-id falls back to the host name", "", withMachineID("\n"), sanitize(hostname)},
		{"missing machine-id falls back to the host name", "", t.TempDir(), sanitize(hostname)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HostID(tt.configured, tt.root)
			if got != tt.want {
				t.Fatalf("HostID(%q) = %q, want %q", tt.configured, got, tt.want)
			}
			if !snapshot.ValidToken(got) {
				t.Fatalf("%q is not a NATS token", got)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no host id", Config{URL: "nats://127.0.0.1:4222"}},
		{"host id that is no token", Config{URL: "nats://127.0.0.1:4222", HostID: "a.b"}},
		{"no url", Config{HostID: "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, nil); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestRunRejectsUnreadableNKeySeed(t *testing.T) {
	p, err := New(Config{URL: "nats://127.0.0.1:1", HostID: "a", NKeySeed: filepath.Join(t.TempDir(), "missing.nk")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(t.Context()); err == nil {
		t.Fatal("Run started with a missing nkey seed file")
	}
}

func TestEpochsSortByStart(t *testing.T) {
	a := snapshot.NewEpoch(time.Unix(100, 0))
	b := snapshot.NewEpoch(time.Unix(101, 0))
	if snapshot.CompareEpochs(a, b) != -1 || len(a) != len(b) || a == snapshot.NewEpoch(time.Unix(100, 0)) {
		t.Fatalf("epochs %s, %s: want fixed width, ordered by time, unique", a, b)
	}
	p, err := New(Config{URL: "nats://127.0.0.1:1", HostID: "host-a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !snapshot.ValidEpoch(p.Epoch()) {
		t.Fatalf("publisher epoch %q is not a valid epoch", p.Epoch())
	}
}
