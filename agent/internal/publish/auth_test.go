package publish

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// startAuthServer runs a nats-server that requires the given credentials.
func startAuthServer(t *testing.T, opts *server.Options) string {
	t.Helper()
	opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", server.RANDOM_PORT, true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	return ns.ClientURL()
}

func TestPublishWithCredentials(t *testing.T) {
	tests := []struct {
		name   string
		server server.Options
		pub    Config
		client []nats.Option
	}{
		{"token", server.Options{Authorization: "s3cret"}, Config{Token: "s3cret"}, []nats.Option{nats.Token("s3cret")}},
		{"user and password", server.Options{Username: "agent", Password: "pw"}, Config{User: "agent", Password: "pw"},
			[]nats.Option{nats.UserInfo("agent", "pw")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := startAuthServer(t, &tt.server)
			cfg := tt.pub
			cfg.URL = url
			p := startPublisher(t, cfg)
			nc, err := nats.Connect(url, tt.client...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			w := startSubscriber(t, nc, natssub.Config{HostID: "host-a"})
			s1 := host(1, proc(10, "a"))
			p.Submit(s1, snapshot.Stats{})
			w.waitState("host-a", s1)
		})
	}
}

func TestPublishWithWrongTokenRetriesWithoutBlocking(t *testing.T) {
	url := startAuthServer(t, &server.Options{Authorization: "s3cret"})
	p := startPublisher(t, Config{URL: url, Token: "wrong"})
	p.Submit(host(1, proc(10, "a")), snapshot.Stats{}) // must return although the server refuses us
	// The refusal is recorded (and logged once) while the publisher retries.
	var last struct{ Err string }
	waitfor.Until(t, waitLimit, func() bool {
		p.errMu.Lock()
		last.Err = p.lastConnectErr
		p.errMu.Unlock()
		return strings.Contains(strings.ToLower(last.Err), "authorization")
	}, "no authorization error recorded; last %+v", &last)
	var st snapshot.Stats
	p.AddCounters(&st)
	if st.PublishedMessages != 0 {
		t.Fatalf("published %d messages with a refused token", st.PublishedMessages)
	}
}
