// Package metrics exposes the agent's own counters and timings — the same
// snapshot.Stats a heartbeat carries — as Prometheus metrics on
// metrics-listen. It owns the registry and the HTTP endpoint; the numbers
// come from the tick loop through Observe.
package metrics
