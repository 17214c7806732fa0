package publish

import "time"

// sendKind is what the publisher sends when it wakes up.
type sendKind int

const (
	// sendNothing: nothing is due, or a resync request waits for its gap.
	sendNothing sendKind = iota
	// sendFull: a full snapshot.
	sendFull
	// sendChange: a delta from the last published state, or a heartbeat
	// when the diff is empty (only the diff can tell which).
	sendChange
)

// String returns "nothing", "full" or "change".
func (k sendKind) String() string {
	switch k {
	case sendFull:
		return "full"
	case sendChange:
		return "change"
	default:
		return "nothing"
	}
}

// sendState is what decide needs to know about the publisher when it wakes
// up with a state to publish and a connection to publish it on.
type sendState struct {
	NeedFull        bool          // a (re)connect or a failed publish asked for a full snapshot
	HasPrev         bool          // a state was published that a delta can apply to
	Fresh           bool          // the latest state has not been published yet
	ResyncRequested bool          // a control request asked for a full snapshot
	LastFull        time.Time     // when the last full snapshot was sent, for any reason
	ResyncMinGap    time.Duration // shortest time from one full snapshot to one sent because subscribers asked
}

// decide says what to send at now: a full snapshot when one is needed,
// there is no base for a delta, or a resync was asked for and ResyncMinGap
// has passed since LastFull; else a change when the state is fresh (which
// the publisher turns into a full snapshot when it is the full-every-th
// change, see periodicFull); else nothing. wait is how long a resync
// request that is not served yet must still wait (0 when there is none,
// or when this decision serves it).
func decide(s sendState, now time.Time) (kind sendKind, wait time.Duration) {
	full := s.NeedFull || !s.HasPrev
	if !full && s.ResyncRequested {
		// Requests are served by a full snapshot at most once per
		// ResyncMinGap after the last full one, whatever sent it.
		if wait = s.ResyncMinGap - now.Sub(s.LastFull); wait <= 0 {
			full, wait = true, 0
		}
	}
	switch {
	case full:
		return sendFull, 0
	case s.Fresh:
		return sendChange, wait
	default:
		return sendNothing, wait
	}
}

// periodicFull reports whether a change (a non-empty delta) is to go out as
// a full snapshot instead: the fullEvery-th change since the last full
// snapshot (deltas counts those sent since), fullEvery > 0. Heartbeats do
// not count, so a host that changes nothing sends no full snapshot: its
// subscribers have its state, and a JetStream stream holds it as the last
// full snapshot with no delta after it. What a full snapshot bounds is the
// chain of deltas after it, which a late subscriber replays.
func periodicFull(deltas, fullEvery int) bool {
	return fullEvery > 0 && deltas+1 >= fullEvery
}
