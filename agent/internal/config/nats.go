package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/proctag/proctag/agent/snapshot"
)

// JetStreamLimits bounds the JetStream stream the agents keep
// (nats.jetstream-limits). The agent creates the stream with them or
// tightens an existing one to them; it never widens an operator's tighter
// limits. Its fields match publish.StreamLimits.
type JetStreamLimits struct {
	// MaxBytes caps the stream's size; the oldest messages go first.
	MaxBytes int64
	// MaxMsgSizeBytes caps one stored message (headers plus data); chunks
	// of a full snapshot are cut to fit.
	MaxMsgSizeBytes int64
	// MaxMsgsPerSubject caps the messages kept per subject, i.e. per host
	// and kind.
	MaxMsgsPerSubject int64
	// MaxAge drops what a host that went away left behind.
	MaxAge time.Duration
	// Replicas is the number of servers of a NATS cluster that hold the
	// stream, 1 to 5. The agent creates the stream with it or raises an
	// existing stream's count to it; it never lowers an operator's higher
	// count. More than 1 needs a cluster with JetStream on at least that
	// many servers.
	Replicas int
}

// DefaultJetStreamLimits fit a fleet of 1,000 hosts on a 3-node cluster:
// 1 GiB in all (about 1 MiB per host), messages up to NATS's default max
// payload, and per host and kind 256 messages: a large host's full snapshot
// in chunks, twice while the next replaces it, or the deltas between two
// full snapshots (nats.full-every). One replica, so that the default works
// on a single server (the embedded one); a cluster sets 3.
func DefaultJetStreamLimits() JetStreamLimits {
	return JetStreamLimits{MaxBytes: 1 << 30, MaxMsgSizeBytes: 1 << 20, MaxMsgsPerSubject: 256, MaxAge: 24 * time.Hour, Replicas: 1}
}

// Bounds of the nats.jetstream-limits keys.
const (
	minStreamBytes   = 1 << 20
	maxStreamBytes   = 1 << 44
	minStreamMsgSize = 1 << 10 // the encoder's smallest max payload
	maxStreamMsgSize = 64 << 20
	maxReplicas      = 5 // JetStream's own limit
)

// natsFields is the registry of the nats: mapping.
func natsFields(n *NATS) []field {
	path := func(dst *string) func(d *decoder, v *yaml.Node, k string) {
		return func(d *decoder, v *yaml.Node, k string) { d.path(v, k, dst) }
	}
	str := func(dst *string) func(d *decoder, v *yaml.Node, k string) {
		return func(d *decoder, v *yaml.Node, k string) { d.str(v, k, dst) }
	}
	return []field{
		{name: "url", kind: "string", def: `""`,
			meaning: "server URL(s), comma-separated (`nats://`, `tls://`, `ws://`, `wss://` or host:port); \"\" = the embedded server",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.natsURL(v, k, &n.URL) }},
		{name: "subject-prefix", kind: "string", def: snapshot.DefaultSubjectPrefix,
			meaning: "first tokens of every subject (`<prefix>.v1.<host_id>.snapshot`): dot-separated tokens of letters, digits, `_` and `-`",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.subject(v, k, &n.SubjectPrefix) }},
		{name: "embedded", kind: "mapping", meaning: "the in-process NATS server used when `url` is \"\"",
			children: []field{{name: "listen", kind: "string", def: "127.0.0.1:4222",
				meaning: "host:port the embedded server listens on; \"\" disables it"}},
			decode: func(d *decoder, v *yaml.Node, k string) {
				d.mapping(v, k, []field{{name: "listen", decode: func(d *decoder, v *yaml.Node, k string) { d.hostPort(v, k, &n.EmbeddedListen) }}})
			}},
		{name: "creds", kind: "string", def: `""`, decode: path(&n.Creds),
			meaning: "credentials (JWT + NKey) file"},
		{name: "nkey-seed", kind: "string", def: `""`, decode: path(&n.NKeySeed),
			meaning: "NKey seed file"},
		{name: "token", kind: "string", def: `""`, decode: str(&n.Token),
			meaning: "authentication token"},
		{name: "user", kind: "string", def: `""`, decode: str(&n.User),
			meaning: "user name (with `password`)"},
		{name: "password", kind: "string", def: `""`, decode: str(&n.Password),
			meaning: "password (with `user`)"},
		{name: "tls", kind: "mapping", meaning: "TLS to the server; `cert` and `key` together give mutual TLS",
			children: []field{
				{name: "ca", kind: "string", def: `""`, meaning: "PEM file of CAs to trust"},
				{name: "cert", kind: "string", def: `""`, meaning: "PEM client certificate file"},
				{name: "key", kind: "string", def: `""`, meaning: "PEM client key file"},
			},
			decode: func(d *decoder, v *yaml.Node, k string) {
				d.mapping(v, k, []field{
					{name: "ca", decode: path(&n.TLSCA)},
					{name: "cert", decode: path(&n.TLSCert)},
					{name: "key", decode: path(&n.TLSKey)},
				})
			}},
		{name: "jetstream", kind: "bool", def: "false",
			meaning: "keep the last full snapshot per host (and the deltas after it) in a JetStream stream",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.boolean(v, k, &n.JetStream) }},
		{name: "jetstream-limits", kind: "mapping",
			meaning: "bounds of the JetStream stream; the agent creates or tightens the stream to them and keeps an operator's tighter limits",
			children: []field{
				{name: "max-bytes", kind: "size", def: "1GiB", meaning: "the stream's size (oldest messages dropped first); 1MiB to 16384GiB"},
				{name: "max-msg-size", kind: "size", def: "1MiB",
					meaning: "one stored message, headers plus data; full snapshots are chunked to fit; 1KiB to 64MiB"},
				{name: "max-msgs-per-subject", kind: "int", def: "256",
					meaning: "messages kept per host and kind: a full snapshot's chunks twice, or the deltas between two full snapshots; at least `full-every`"},
				{name: "max-age", kind: "duration", def: "24h", meaning: "how long what a host that went away left stays"},
				{name: "replicas", kind: "int", def: "1",
					meaning: "servers of the NATS cluster that hold the stream, 1 to 5; the agent raises the stream to it, never lowers it; more than 1 needs a cluster (not the embedded server)"},
			},
			decode: func(d *decoder, v *yaml.Node, k string) { d.jetStreamLimits(v, k, &n.JetStreamLimits) }},
		{name: "full-every", kind: "int", def: "30",
			meaning: "every full-every-th change since the last full snapshot goes out as a full snapshot instead of a delta, which bounds the deltas a late subscriber replays; heartbeats (ticks that changed nothing) do not count, so a quiet host sends none; at least 1",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxInt32, &n.FullEvery) }},
	}
}

// checkNATS reports combinations the NATS client cannot use.
func (d *decoder) checkNATS(n *NATS, node *yaml.Node) {
	if node == nil {
		return
	}
	var methods []string
	for _, m := range []struct{ name, v string }{{"creds", n.Creds}, {"nkey-seed", n.NKeySeed}, {"token", n.Token}, {"user", n.User}} {
		if m.v != "" {
			methods = append(methods, m.name)
		}
	}
	if len(methods) > 1 {
		d.errorf(node, "nats", "%s are set; use only one way to authenticate", strings.Join(methods, " and "))
	}
	if n.Password != "" && n.User == "" {
		d.errorf(node, "nats.password", "is set without nats.user; set both")
	}
	if (n.TLSCert == "") != (n.TLSKey == "") {
		d.errorf(node, "nats.tls", "cert and key go together; set both or neither")
	}
	l := n.JetStreamLimits
	if n.JetStream && l.MaxMsgsPerSubject < int64(n.FullEvery) {
		d.errorf(node, "nats.jetstream-limits.max-msgs-per-subject",
			"%d is below nats.full-every (%d): the deltas between two full snapshots would not fit; raise it or lower full-every", l.MaxMsgsPerSubject, n.FullEvery)
	}
	if n.JetStream && n.URL == "" && l.Replicas > 1 {
		d.errorf(node, "nats.jetstream-limits.replicas",
			"%d needs a NATS cluster, and the embedded server (nats.url \"\") is one server; set nats.url to the cluster or replicas to 1", l.Replicas)
	}
	if l.MaxMsgSizeBytes > l.MaxBytes {
		d.errorf(node, "nats.jetstream-limits.max-msg-size", "%s is more than max-bytes (%s)", formatSize(uint64(l.MaxMsgSizeBytes)), formatSize(uint64(l.MaxBytes)))
	}
}

// jetStreamLimits decodes nats.jetstream-limits.
func (d *decoder) jetStreamLimits(v *yaml.Node, key string, l *JetStreamLimits) {
	d.mapping(v, key, []field{
		{name: "max-bytes", decode: func(d *decoder, v *yaml.Node, k string) {
			d.size(v, k, minStreamBytes, maxStreamBytes, &l.MaxBytes)
		}},
		{name: "max-msg-size", decode: func(d *decoder, v *yaml.Node, k string) {
			d.size(v, k, minStreamMsgSize, maxStreamMsgSize, &l.MaxMsgSizeBytes)
		}},
		{name: "max-msgs-per-subject", decode: func(d *decoder, v *yaml.Node, k string) {
			var i int
			d.intRange(v, k, 1, maxInt32, &i)
			if i > 0 {
				l.MaxMsgsPerSubject = int64(i)
			}
		}},
		{name: "max-age", decode: func(d *decoder, v *yaml.Node, k string) { d.duration(v, k, 0, &l.MaxAge) }},
		{name: "replicas", decode: func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxReplicas, &l.Replicas) }},
	})
}

// hostPort decodes "" or a host:port address with a numeric port.
func (d *decoder) hostPort(v *yaml.Node, key string, dst *string) {
	var s string
	if !d.str(v, key, &s) {
		return
	}
	if s != "" && !validHostPort(s) {
		d.bad(v, key, `host:port (like "127.0.0.1:4222" or ":9100") or ""`)
		return
	}
	*dst = s
}

func validHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	return err == nil && p <= 65535
}

func (d *decoder) natsURL(v *yaml.Node, key string, dst *string) {
	var s string
	if !d.str(v, key, &s) {
		return
	}
	if s == "" {
		return
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, "://") {
			if !validHostPort(part) {
				d.errorf(v, key, "%q is not a NATS URL (nats://host:port, tls://, ws://, wss://, or host:port)", part)
				return
			}
			continue
		}
		u, err := url.Parse(part)
		if err != nil || u.Host == "" {
			d.errorf(v, key, "%q is not a NATS URL (nats://host:port, tls://, ws://, wss://, or host:port)", part)
			return
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			d.errorf(v, key, "scheme %q of %q is not nats, tls, ws or wss", u.Scheme, part)
			return
		}
	}
	*dst = s
}

// subject decodes a subject prefix: dot-separated tokens of [A-Za-z0-9_-].
func (d *decoder) subject(v *yaml.Node, key string, dst *string) {
	var s string
	if !d.str(v, key, &s) {
		return
	}
	if !validSubject(s) {
		d.bad(v, key, "a NATS subject of dot-separated tokens of letters, digits, _ and - (no wildcards)")
		return
	}
	*dst = s
}

func validSubject(s string) bool {
	if s == "" {
		return false
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || !isToken(tok) {
			return false
		}
	}
	return true
}

// isToken reports whether s is letters, digits, '_' and '-' only.
func isToken(s string) bool {
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '-':
		default:
			return false
		}
	}
	return s != ""
}
