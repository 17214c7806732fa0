package natsembed

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
)

func TestStartServesClients(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "random port", cfg: Config{Listen: "127.0.0.1:0"}},
		{name: "random port as -1 with small payload", cfg: Config{Listen: "127.0.0.1:-1", MaxPayloadBytes: 4096}},
		{name: "jetstream", cfg: Config{Listen: "127.0.0.1:0", JetStream: true, StoreDir: t.TempDir()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(tt.cfg, hclog.NewNullLogger())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Shutdown)
			if strings.HasSuffix(s.ClientURL(), ":0") || strings.HasSuffix(s.ClientURL(), ":-1") {
				t.Fatalf("ClientURL %s has no real port", s.ClientURL())
			}
			nc, err := nats.Connect(s.ClientURL())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			sub, err := nc.SubscribeSync("x")
			if err != nil {
				t.Fatal(err)
			}
			if err := nc.Publish("x", []byte("hi")); err != nil {
				t.Fatal(err)
			}
			msg, err := sub.NextMsg(5 * time.Second)
			if err != nil || string(msg.Data) != "hi" {
				t.Fatalf("got %v %v", msg, err)
			}
			if tt.cfg.MaxPayloadBytes > 0 && nc.MaxPayload() != int64(tt.cfg.MaxPayloadBytes) {
				t.Fatalf("max payload %d, want %d", nc.MaxPayload(), tt.cfg.MaxPayloadBytes)
			}
			if tt.cfg.JetStream {
				js, err := nc.JetStream()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := js.AccountInfo(); err != nil {
					t.Fatalf("jetstream not enabled: %v", err)
				}
			}
		})
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"listen without port", Config{Listen: "127.0.0.1"}, "missing port"},
		{"port out of range", Config{Listen: "127.0.0.1:70000"}, "port is not a number"},
		{"jetstream without store", Config{Listen: "127.0.0.1:0", JetStream: true}, "store directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestStartFailsAtOnceWhenPortTaken starts a server on an address another
// listener holds, with an hour to get ready: Start must return
// ErrAddrInUse without waiting for that hour.
func TestStartFailsAtOnceWhenPortTaken(t *testing.T) {
	first, err := Start(Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown()
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	tests := []struct {
		name   string
		listen string
	}{
		{name: "another embedded server", listen: first.Addr().String()},
		{name: "any other listener", listen: plain.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				s, err := Start(Config{Listen: tt.listen, ReadyTimeout: time.Hour}, nil)
				if err == nil {
					s.Shutdown()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), tt.listen) {
					t.Fatalf("Start() error = %v, want ErrAddrInUse naming %s", err, tt.listen)
				}
			case <-time.After(time.Minute):
				t.Fatal("Start waited for its ready timeout instead of failing at once")
			}
		})
	}
}

// TestFatalBeforeReadyGoesToStart checks the adapter's routing of the
// server's fatal messages: the first before readiness is Start's to
// return, anything else is logged.
func TestFatalBeforeReadyGoesToStart(t *testing.T) {
	tests := []struct {
		name       string
		ready      bool
		fatals     int
		wantChan   bool
		wantLogged int
	}{
		{name: "before ready", fatals: 1, wantChan: true},
		{name: "two before ready", fatals: 2, wantChan: true, wantLogged: 1},
		{name: "after ready", ready: true, fatals: 1, wantLogged: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := &logAdapter{l: hclog.New(&hclog.LoggerOptions{Output: &logs}), fatal: make(chan string, 1)}
			a.ready.Store(tt.ready)
			for range tt.fatals {
				a.Fatalf("Error listening on port: %s, %q", "127.0.0.1:4222", "address already in use")
			}
			if got := len(a.fatal) == 1; got != tt.wantChan {
				t.Errorf("fatal delivered to Start: %v, want %v", got, tt.wantChan)
			}
			if got := strings.Count(logs.String(), "nats server fatal"); got != tt.wantLogged {
				t.Errorf("logged %d fatal lines, want %d:\n%s", got, tt.wantLogged, logs.String())
			}
		})
	}
}

// TestBannerIsDebug starts a server with an info-level logger: the one
// line logged is the agent's own "ready", not the server's banner.
func TestBannerIsDebug(t *testing.T) {
	tests := []struct {
		level      hclog.Level
		wantBanner bool
	}{
		{level: hclog.Info},
		{level: hclog.Debug, wantBanner: true},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			var logs bytes.Buffer
			s, err := Start(Config{Listen: "127.0.0.1:0"}, hclog.New(&hclog.LoggerOptions{Output: &logs, Level: tt.level}))
			if err != nil {
				t.Fatal(err)
			}
			s.Shutdown()
			out := logs.String()
			if !strings.Contains(out, "embedded nats server ready") {
				t.Errorf("no ready line in:\n%s", out)
			}
			if got := strings.Contains(out, "Starting nats-server"); got != tt.wantBanner {
				t.Errorf("banner logged: %v, want %v:\n%s", got, tt.wantBanner, out)
			}
		})
	}
}

func TestShutdownTwice(t *testing.T) {
	s, err := Start(Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	s.Shutdown()
	if _, err := nats.Connect(s.ClientURL(), nats.Timeout(time.Second)); err == nil {
		t.Fatal("connected to a server that was shut down")
	}
}
