// Package natssub follows proctag hosts on NATS: it subscribes to one host's
// or every host's subjects, feeds the messages to a snapshot.Assembler,
// asks the agents for a full snapshot (resync) when it joins or detects a
// gap or a new epoch, and exposes each host's current state and a stream of
// changes. When the publishers keep a JetStream stream, it replays the
// stream first, so a late subscriber has every host's state without asking.
//
// Downstream Go services import it; `proctag watch` is built on it. The wire
// format itself lives in package snapshot (WIRE.md).
package natssub
