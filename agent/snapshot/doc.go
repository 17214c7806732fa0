// Package snapshot is the public model of one host's state as proctag
// publishes it, and the wire format that carries it over NATS.
//
// It owns:
//   - the data model (Snapshot, Host, Process, Socket) and its order (Sort);
//   - deltas between two snapshots (Diff, Delta.Apply), processes keyed by
//     (pid, start time) and sockets by inode;
//   - the heartbeat body (Stats);
//   - the wire envelope (Envelope, carried as NATS headers), subjects,
//     zstd compression and chunking (Encoder);
//   - epochs (NewEpoch, CompareEpochs): one per agent run, ordered by start
//     time;
//   - the subscriber side (Assembler): joining chunks, decompressing with a
//     size cap, applying deltas to the right base, detecting gaps and epoch
//     changes, and refusing what the protocol rules out when anyone may
//     publish (WIRE.md, "Trust"; Confirm checks the view against the
//     agent's own answer).
//
// The package is pure: no NATS client, no I/O. The publisher lives in
// agent/internal/publish, the NATS subscriber in agent/snapshot/natssub.
// WIRE.md in this directory documents the format for clients in any
// language, with JSON examples and OpenTelemetry names.
//
// JSON field names are snake_case and stable within wire version v1. Each
// field's OpenTelemetry resource attribute name is given in its doc comment.
package snapshot
