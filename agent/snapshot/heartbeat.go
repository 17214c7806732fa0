package snapshot

import (
	"cmp"
	"slices"
	"strconv"
)

// MaxHeartbeatWireBytes is the most one heartbeat, a quiet host's tick,
// takes on the wire as a subscriber receives it (HMSG line with subject,
// header block, body, CRLFs), for host ids of up to 32 characters (a
// machine id) and seqs and msg ids of up to 10 digits.
// EncodeHeartbeatStats fits the stats into what the subject and the
// headers leave of it.
const MaxHeartbeatWireBytes = 300

// subscriberIDRoom is the room left for " <sid>" in the subscriber's HMSG
// line, which the publisher's HPUB line does not have: subscription ids of
// up to 7 digits.
const subscriberIDRoom = 8

// minHeartbeatBody is the smallest body budget a heartbeat gets whatever
// the length of its subject: enough for any one field.
const minHeartbeatBody = 64

// StatsRepeatEvery: a field that was sent is repeated, while unchanged, in
// one of every StatsRepeatEvery heartbeats, room allowing, so that a
// subscriber that joins (or lost a heartbeat) has every field by then (one
// minute at the default 10 s interval).
const StatsRepeatEvery = 6

// statsField is one field of the heartbeat body: its JSON name and its
// value as 64 bits (two's complement for the signed fields).
type statsField struct {
	name   string
	signed bool
	get    func(*Stats) uint64
}

// heartbeatFields are the Stats fields a heartbeat carries, in body order.
// Processes and Sockets are not among them: they are the counts of the
// state at the heartbeat's seq, which a subscriber has (WIRE.md, "hb").
var heartbeatFields = [...]statsField{
	{"scan_us", true, func(s *Stats) uint64 { return uint64(s.ScanMicros) }},
	{"tick_us", true, func(s *Stats) uint64 { return uint64(s.TickMicros) }},
	{"processes_seen", true, func(s *Stats) uint64 { return uint64(s.ProcessesSeen) }},
	{"ticks", false, func(s *Stats) uint64 { return s.Ticks }},
	{"plugin_calls", false, func(s *Stats) uint64 { return s.PluginCalls }},
	{"plugin_faults", false, func(s *Stats) uint64 { return s.PluginFaults }},
	{"published_bytes", false, func(s *Stats) uint64 { return s.PublishedBytes }},
	{"published_messages", false, func(s *Stats) uint64 { return s.PublishedMessages }},
	{"last_full_bytes", true, func(s *Stats) uint64 { return uint64(s.LastFullBytes) }},
	{"reconnects", false, func(s *Stats) uint64 { return s.Reconnects }},
	{"publish_errors", false, func(s *Stats) uint64 { return s.PublishErrors }},
	{"resync_requests", false, func(s *Stats) uint64 { return s.ResyncRequests }},
	{"rss_bytes", true, func(s *Stats) uint64 { return uint64(s.RSSBytes) }},
	{"quiet_ticks", false, func(s *Stats) uint64 { return s.QuietTicks }},
	{"reconcile_diffs", false, func(s *Stats) uint64 { return s.ReconcileDiffs }},
	{"closed_reported", false, func(s *Stats) uint64 { return s.ClosedReported }},
	{"closed_dropped", false, func(s *Stats) uint64 { return s.ClosedDropped }},
	{"events_lost", false, func(s *Stats) uint64 { return s.EventsLost }},
}

// HeartbeatStats remembers what the heartbeats of one epoch sent of each
// Stats field, so that each heartbeat carries only what a subscriber does
// not have: the fields that changed since they were last sent, and those
// not repeated for StatsRepeatEvery heartbeats, oldest first, as many as
// fit the body's budget. A subscriber keeps a field a heartbeat leaves out
// as it was (WIRE.md, "hb"). The zero value is ready for a new epoch; it is
// not safe for concurrent use (the publisher's loop owns it).
type HeartbeatStats struct {
	sent [len(heartbeatFields)]uint64 // the values last sent, 0 before
	age  [len(heartbeatFields)]int    // heartbeats since each was last sent
	ever [len(heartbeatFields)]bool   // sent at least once this epoch
}

// RepeatAll makes every field sent so far due again, oldest first: after a
// full snapshot, which is what a subscriber that joins receives first, the
// next heartbeats bring it the whole stats.
func (h *HeartbeatStats) RepeatAll() {
	for i := range h.age {
		h.age[i] = max(h.age[i], StatsRepeatEvery)
	}
}

// Body returns the JSON body of the next heartbeat, at most budget bytes
// (at least "{}"), and records its fields as sent.
func (h *HeartbeatStats) Body(st *Stats, budget int) []byte {
	var due [len(heartbeatFields)]int
	n := 0
	for i, f := range heartbeatFields {
		if f.get(st) != h.sent[i] || (h.ever[i] && h.age[i]+1 >= StatsRepeatEvery) {
			due[n] = i
			n++
		}
	}
	order := due[:n]
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(h.age[b], h.age[a]) })
	var sent [len(heartbeatFields)]bool
	b := make([]byte, 0, budget)
	b = append(b, '{')
	var field []byte
	for _, i := range order {
		f := &heartbeatFields[i]
		v := f.get(st)
		field = append(append(append(field[:0], '"'), f.name...), `":`...)
		if f.signed {
			field = strconv.AppendInt(field, int64(v), 10)
		} else {
			field = strconv.AppendUint(field, v, 10)
		}
		comma := 0
		if len(b) > 1 {
			comma = 1
		}
		if len(b)+comma+len(field)+1 > budget { // +1: the closing brace
			continue
		}
		if comma == 1 {
			b = append(b, ',')
		}
		b = append(b, field...)
		h.sent[i], h.ever[i], sent[i] = v, true, true
	}
	for i := range h.age {
		if sent[i] {
			h.age[i] = 0
		} else {
			h.age[i]++
		}
	}
	return append(b, '}')
}
