package natsembed

import (
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

func TestStartFailsWhenPortTaken(t *testing.T) {
	first, err := Start(Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown()
	_, err = Start(Config{Listen: first.Addr().String(), ReadyTimeout: 2 * time.Second}, nil)
	if err == nil {
		t.Fatal("second server on the same port started")
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
