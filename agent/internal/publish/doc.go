// Package publish sends a host's state to NATS: a full snapshot at start,
// after each reconnect, on request and in place of every FullEvery-th delta,
// a delta otherwise and a heartbeat when nothing changed, on the subjects and in the
// wire format of package snapshot (see agent/snapshot/WIRE.md).
//
// It owns the NATS connection (authentication, TLS, reconnecting forever
// at most half an interval apart, so that a server's return is noticed
// within the interval, the inbox prefix _INBOX.<host_id> its permissions
// name),
// the epoch and seq numbering, the answers on the control subjects (rate
// limited: at most one full snapshot per ResyncMinGap, one tick interval by
// default, however many ask) and, when enabled, the JetStream stream that
// keeps each host's last full snapshot and the deltas after it, bounded by
// StreamLimits, which the agent applies when it creates the stream or to
// tighten it, never to widen an operator's limits. It never blocks the tick loop:
// Submit keeps only the newest state, and nothing is buffered while the
// server is away. Scanning, rules and plugins belong to other packages; the
// embedded server to natsembed.
package publish
