// Package snapshot is the public model of one host's state as proctag
// publishes it: the host, its reported processes and their sockets.
//
// It owns the data model (this file set), and — as the NATS work lands — the
// wire format, deltas between two snapshots and the subscriber-side
// assembler. Downstream Go services import this package; everything else in
// proctag lives under agent/internal.
//
// JSON field names are snake_case and stable within wire version v1. Each
// field's OpenTelemetry resource attribute name is given in its doc comment.
package snapshot
