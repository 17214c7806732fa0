package snapshot

// Stats is the body of a heartbeat message: the agent's own counters and
// timings, so a subscriber can watch the agent without scraping metrics.
// Durations are in microseconds, sizes in bytes; counters are totals since
// the agent started (Epoch) unless the name says "last". The zero value is
// valid and means nothing was measured. Every field is omitted from JSON
// when 0; a heartbeat carries only some fields (HeartbeatStats) and a
// subscriber keeps the others as the epoch's earlier heartbeats gave them
// (Assembler does), Processes and Sockets being its state's counts.
type Stats struct {
	// ScanMicros is the wall time of the last tick's scan, in microseconds.
	ScanMicros int64 `json:"scan_us,omitempty"`
	// TickMicros is the wall time of the whole last tick (scan to submit).
	TickMicros int64 `json:"tick_us,omitempty"`
	// Processes and Sockets are the counts in the last published state.
	Processes int `json:"processes,omitempty"`
	Sockets   int `json:"sockets,omitempty"`
	// ProcessesSeen is how many pids the last scan looked at, reported or not.
	ProcessesSeen int `json:"processes_seen,omitempty"`
	// Ticks is the number of ticks run since start.
	Ticks uint64 `json:"ticks,omitempty"`
	// PluginCalls and PluginFaults count wasm plugin calls and their faults
	// (traps, timeouts, bad output, limits).
	PluginCalls  uint64 `json:"plugin_calls,omitempty"`
	PluginFaults uint64 `json:"plugin_faults,omitempty"`
	// PublishedBytes and PublishedMessages count what the publisher handed
	// to NATS (headers and bodies, all kinds). Filled in by the publisher.
	PublishedBytes    uint64 `json:"published_bytes,omitempty"`
	PublishedMessages uint64 `json:"published_messages,omitempty"`
	// LastFullBytes is the wire size of the last full snapshot, all chunks.
	LastFullBytes int64 `json:"last_full_bytes,omitempty"`
	// Reconnects counts NATS reconnections; PublishErrors counts messages
	// that could not be handed to NATS (the next one is a full snapshot).
	Reconnects    uint64 `json:"reconnects,omitempty"`
	PublishErrors uint64 `json:"publish_errors,omitempty"`
	// ResyncRequests counts resync requests answered on the control subject.
	ResyncRequests uint64 `json:"resync_requests,omitempty"`
	// RSSBytes is the agent's resident set size when known.
	RSSBytes int64 `json:"rss_bytes,omitempty"`
	// QuietTicks counts the ticks that published the last state again
	// because the event sources reported no change.
	QuietTicks uint64 `json:"quiet_ticks,omitempty"`
	// ReconcileDiffs counts the processes and sockets that full re-reads
	// after quiet ticks found added or removed: what the events missed.
	ReconcileDiffs uint64 `json:"reconcile_diffs,omitempty"`
	// ClosedReported and ClosedDropped count the short connections
	// published in Closed and those left out by the agent's cap.
	ClosedReported uint64 `json:"closed_reported,omitempty"`
	ClosedDropped  uint64 `json:"closed_dropped,omitempty"`
	// EventsLost counts the kernel's TCP events that the agent's sources
	// lost since it started: eBPF records dropped by a full ring buffer or
	// skipped by the kernel (recursion misses), and overruns of the
	// sock_diag destroy reader's receive buffer (each loses one
	// notification or more). A short connection whose events were lost is
	// missing from Closed.
	EventsLost uint64 `json:"events_lost,omitempty"`
}
