// Package metrics exposes the agent's own counters and timings as
// Prometheus metrics on metrics-listen: per step of the work
// (proctag_step_duration_seconds and proctag_step_errors_total, labelled
// by step), per tick, per plugin, and the publisher's counters. It owns
// the registry and the HTTP endpoint; the numbers come from the tick loop
// and the publisher through the Collector's Observe methods.
package metrics
