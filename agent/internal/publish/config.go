package publish

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
)

// Config says where and how to publish. Credentials: at most one of Creds,
// NKeySeed, Token, User+Password. The zero value of the optional fields
// means their documented default.
type Config struct {
	// URL is the server URL or a comma-separated list (nats://, tls://).
	URL string
	// SubjectPrefix starts every subject; default "proctag".
	SubjectPrefix string
	// HostID is the subject token and host.id of this host (see HostID);
	// Hostname is host.name. HostID is required.
	HostID, Hostname string
	// Creds is a credentials (JWT + NKey) file; NKeySeed an NKey seed file.
	Creds, NKeySeed string
	// Token, User and Password are literal credentials.
	Token, User, Password string
	// TLSCA is a PEM file of CAs; TLSCert and TLSKey a client certificate
	// and its key (mutual TLS).
	TLSCA, TLSCert, TLSKey string
	// JetStream keeps the last full snapshot per host, and the deltas after
	// it, in the stream snapshot.StreamName(SubjectPrefix).
	JetStream bool
	// FullEvery is the number of ticks between full snapshots; default 30.
	FullEvery int
	// Interval is the agent's tick interval, carried in every message.
	Interval time.Duration
	// ReconnectWaitMax caps the reconnect backoff (doubling from 250 ms,
	// with jitter); default 30 s.
	ReconnectWaitMax time.Duration
	// ResyncMinGap is the shortest time between two full snapshots sent
	// because subscribers asked; default 1 s.
	ResyncMinGap time.Duration
	// DrainTimeout bounds the drain at shutdown; default 10 s.
	DrainTimeout time.Duration
}

func (c *Config) setDefaults() error {
	if c.HostID == "" {
		return errors.New("publish: host id is empty")
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = "proctag"
	}
	if c.FullEvery <= 0 {
		c.FullEvery = 30
	}
	if c.ReconnectWaitMax <= 0 {
		c.ReconnectWaitMax = 30 * time.Second
	}
	if c.ResyncMinGap <= 0 {
		c.ResyncMinGap = time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 10 * time.Second
	}
	if c.URL == "" {
		return errors.New("publish: server url is empty")
	}
	return nil
}

// authOptions turns the credential and TLS settings into nats.go options.
func (c *Config) authOptions() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case c.Creds != "":
		opts = append(opts, nats.UserCredentials(c.Creds))
	case c.NKeySeed != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeySeed)
		if err != nil {
			return nil, fmt.Errorf("publish: nkey seed %s: %w", c.NKeySeed, err)
		}
		opts = append(opts, o)
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	if c.TLSCert != "" || c.TLSKey != "" {
		opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	return opts, nil
}

// backoff is the reconnect delay after attempts failed attempts: 250 ms
// doubling up to limit, plus up to 20 % jitter.
func backoff(attempts int, limit time.Duration) time.Duration {
	d := 250 * time.Millisecond
	for i := 1; i < attempts && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}
