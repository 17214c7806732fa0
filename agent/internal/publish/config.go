package publish

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/snapshot"
)

// Config says where and how to publish. Credentials: at most one of Creds,
// NKeySeed, Token, User+Password. The zero value of the optional fields
// means what each says; the agent's defaults are the config's (the runner
// maps them).
type Config struct {
	// URL is the server URL or a comma-separated list (nats://, tls://).
	URL string
	// SubjectPrefix starts every subject; "" is
	// snapshot.DefaultSubjectPrefix.
	SubjectPrefix string
	// HostID is the subject token of this host (see HostID); required.
	// Every state submitted must carry it in its host record.
	HostID string
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
	// StreamLimits bounds that stream; a zero field leaves that limit
	// unset.
	StreamLimits StreamLimits
	// FullEvery makes every FullEvery-th change since the last full
	// snapshot go out as a full snapshot instead of a delta (heartbeats do
	// not count); 0 sends full snapshots only at start, after a reconnect
	// and when asked.
	FullEvery int
	// Interval is the agent's tick interval; it sets the defaults of
	// ReconnectWaitMax and ResyncMinGap. Messages carry the interval of
	// the state's host record.
	Interval time.Duration
	// ReconnectWaitMax caps the wait between two reconnect attempts
	// (reconnectDelay: doubling from 250 ms, with jitter below the cap);
	// default half the Interval, at most 2 s (2 s without an Interval), so
	// that the agent is back within half an interval of the server's
	// return, however long the outage. Never less than 10 ms.
	ReconnectWaitMax time.Duration
	// ResyncMinGap is the shortest time from one full snapshot (sent for
	// any reason) to a full snapshot sent because subscribers asked: the
	// cost cap on control requests. Default Interval, or 1 s without one.
	ResyncMinGap time.Duration
	// DrainTimeout bounds the drain at shutdown; default 10 s.
	DrainTimeout time.Duration
	// OnPublish, when set, is called after each publish of a state (a
	// full snapshot, a delta or a heartbeat) with its wall time (encoding,
	// sending and flushing) and whether it went out without an error. It
	// runs on Run's goroutine and must not block.
	OnPublish func(d time.Duration, ok bool)
	// AfterFull, when set, is called on Run's goroutine after each full
	// snapshot was encoded and sent (or failed to be), once its messages
	// are no longer referenced. The agent collects garbage there: a full
	// snapshot's megabytes of chunks were live at the collection before,
	// and would otherwise set the heap's next goal.
	AfterFull func()
}

func (c *Config) setDefaults() error {
	if c.HostID == "" {
		return errors.New("publish: host id is empty")
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = snapshot.DefaultSubjectPrefix
	}
	if c.FullEvery < 0 {
		return fmt.Errorf("publish: full-every %d is negative", c.FullEvery)
	}
	if c.ReconnectWaitMax <= 0 {
		c.ReconnectWaitMax = defaultReconnectWaitMax(c.Interval)
	}
	c.ReconnectWaitMax = max(c.ReconnectWaitMax, minReconnectWait)
	if c.ResyncMinGap <= 0 {
		c.ResyncMinGap = c.Interval
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

// StreamLimits bounds the JetStream stream. Its fields match the config
// keys under nats.jetstream-limits, whose defaults the runner passes; zero
// or less leaves a limit unset (the stream's, or none for a new stream).
type StreamLimits struct {
	// MaxBytes caps the stream's size, oldest messages dropped first.
	MaxBytes int64
	// MaxMsgSizeBytes caps one stored message, headers plus data; the
	// publisher cuts chunks to fit.
	MaxMsgSizeBytes int64
	// MaxMsgsPerSubject caps the messages kept per subject, that is per
	// host and kind: a full snapshot's chunks (twice, while the next one
	// replaces it) or the deltas between two full snapshots.
	MaxMsgsPerSubject int64
	// MaxAge drops what a host that went away left.
	MaxAge time.Duration
	// Replicas is the number of cluster servers that hold the stream. The
	// publisher creates the stream with it and raises an existing stream's
	// count to it, never lowers it (an operator's higher count is kept);
	// zero or less is 1 for a new stream and leaves an existing one as it
	// is. A server that cannot hold that many (a single server, a cluster
	// with fewer JetStream servers) refuses: the stream is not created
	// (full snapshots go on core NATS, with a warning) or is used as it is.
	Replicas int
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
