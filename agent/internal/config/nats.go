package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
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
		{name: "subject-prefix", kind: "string", def: "proctag",
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
		{name: "full-every", kind: "int", def: "30",
			meaning: "ticks between full snapshots (deltas or heartbeats in between); at least 1",
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
