// Package natssub follows proctag hosts on NATS: it subscribes to one host's
// or every host's subjects, feeds the messages to a snapshot.Assembler,
// asks a host's agent for a full snapshot (resync) by a request to that
// host's control subject when it joins it or detects a gap, a new epoch or
// a refused message, checks the agent's answer against what the bus said
// (snapshot.Assembler.Confirm), and exposes each host's current state and a
// stream of changes. It never asks every agent at once: following all
// hosts, it joins each one when its first message arrives. When the
// publishers keep a JetStream stream, it replays the stream first, so a
// late subscriber has every host's state without asking.
//
// FlowIndex, fed the changes (Follow), answers which process is at each end
// of a flow across every followed host, without allocating, and keeps
// itself current from deltas; ServiceMap aggregates it into which process
// talks to which. Downstream Go services import it; `proctag watch` and
// `proctag map` are built on it. The wire format itself lives in package
// snapshot (WIRE.md).
package natssub
