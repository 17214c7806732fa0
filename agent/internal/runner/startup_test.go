package runner_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/runner"
)

// TestBusyEmbeddedPortFailsAtOnce runs the agent with its embedded server
// on an address another listener holds: Run must return at once (no ready
// timeout) with an error naming the config file and the two keys that fix
// it.
func TestBusyEmbeddedPortFailsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	path := filepath.Join(t.TempDir(), "proctag.yaml")
	text := "os-proc-sync-enabled: true\nnats:\n  embedded:\n    listen: " + ln.Addr().String() + "\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runner.Run(t.Context(), cfg, runner.Options{Version: "test"}, hclog.NewNullLogger()) }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not fail on a busy port")
	}
	if !errors.Is(err, natsembed.ErrAddrInUse) {
		t.Fatalf("Run() error = %v, want ErrAddrInUse", err)
	}
	for _, want := range []string{path, ln.Addr().String(), "nats.embedded.listen", "nats.url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}
