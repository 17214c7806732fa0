package snapshot

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestHeartbeatFieldsCoverStats: every JSON field of Stats is a heartbeat
// field, except the state's counts, which subscribers take from the state;
// a field added to Stats without a line in heartbeatFields fails here.
func TestHeartbeatFieldsCoverStats(t *testing.T) {
	names := map[string]bool{}
	for _, f := range heartbeatFields {
		if names[f.name] {
			t.Errorf("heartbeat field %s listed twice", f.name)
		}
		names[f.name] = true
	}
	st := reflect.TypeFor[Stats]()
	for i := range st.NumField() {
		name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		switch {
		case name == "processes" || name == "sockets":
			if names[name] {
				t.Errorf("%s is the state's count, not a heartbeat field", name)
			}
		case !names[name]:
			t.Errorf("Stats field %s (%s) is not a heartbeat field", st.Field(i).Name, name)
		}
		delete(names, name)
	}
	for name := range names {
		t.Errorf("heartbeat field %s is no Stats field", name)
	}
}

// allStats has every field set to a distinct value with many digits.
func allStats(tick int) Stats {
	u := uint64(tick)
	return Stats{ScanMicros: 41873 + int64(tick), TickMicros: 52210 + int64(tick), Processes: 212, Sockets: 1893,
		ProcessesSeen: 240, Ticks: 8640 + u, PluginCalls: 41200 + u, PluginFaults: 3, PublishedBytes: 1834211 + 300*u,
		PublishedMessages: 3710 + u, LastFullBytes: 48120, Reconnects: 1, PublishErrors: 2, ResyncRequests: 3,
		RSSBytes: 31457280 + 4096*int64(tick), QuietTicks: 2900 + u, ReconcileDiffs: 4, ClosedReported: 5120 + u, ClosedDropped: 6, EventsLost: 7}
}

// TestHeartbeatStatsBody: bodies stay within their budget, carry what
// changed or is due, and a subscriber that merges them (absent fields keep
// their value) has the agent's stats: exactly, once the stats stop
// changing; within a few ticks while they change.
func TestHeartbeatStatsBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int
		// changing: the stats move every tick (a busy agent's counters);
		// else they stop after the first tick.
		changing bool
		// settle is how many heartbeats a subscriber that joins at the
		// first one needs before it has every field.
		settle int
	}{
		{"roomy", 4096, false, 1},
		{"tight, still", 96, false, 5},
		{"tight, moving", 96, true, 0},
		{"smallest", minHeartbeatBody, false, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h HeartbeatStats
			var got Stats
			for tick := range 40 {
				want := allStats(0)
				if tc.changing {
					want = allStats(tick)
				}
				body := h.Body(&want, tc.budget)
				if len(body) > tc.budget {
					t.Fatalf("tick %d: body of %d bytes over its budget %d: %s", tick, len(body), tc.budget, body)
				}
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("tick %d: body %s: %v", tick, body, err)
				}
				want.Processes, want.Sockets = 0, 0 // the state's, not in bodies
				if !tc.changing && tick+1 >= tc.settle && got != want {
					t.Fatalf("tick %d: merged stats\n%+v\nwant\n%+v", tick, got, want)
				}
				if tc.changing && tick >= 10 {
					// Every field is at most a few ticks old.
					old := allStats(tick - 4)
					old.Processes, old.Sockets = 0, 0
					for _, f := range heartbeatFields {
						if g, o := f.get(&got), f.get(&old); g < o {
							t.Fatalf("tick %d: %s is %d, older than 4 ticks ago (%d)", tick, f.name, g, o)
						}
					}
				}
			}
		})
	}
}

// TestHeartbeatStatsQuiet: on a host where nothing changes, heartbeats
// send nothing but the fields due again every StatsRepeatEvery ticks, and
// a changed field (even back to 0) goes out at once.
func TestHeartbeatStatsQuiet(t *testing.T) {
	var h HeartbeatStats
	st := Stats{Ticks: 5, Reconnects: 1}
	if got := string(h.Body(&st, 4096)); got != `{"ticks":5,"reconnects":1}` {
		t.Fatalf("first body %s", got)
	}
	for tick := 1; tick < StatsRepeatEvery; tick++ {
		if got := string(h.Body(&st, 4096)); got != `{}` {
			t.Fatalf("tick %d: body %s, want {}", tick, got)
		}
	}
	if got := string(h.Body(&st, 4096)); got != `{"ticks":5,"reconnects":1}` {
		t.Fatalf("repeat body %s", got)
	}
	st.Reconnects = 0
	if got := string(h.Body(&st, 4096)); got != `{"reconnects":0}` {
		t.Fatalf("body after a change to 0: %s", got)
	}
	h.RepeatAll()
	if got := string(h.Body(&st, 4096)); got != `{"ticks":5,"reconnects":0}` {
		t.Fatalf("body after RepeatAll: %s", got)
	}
}

// TestEncodeHeartbeatStatsFits: the encoded heartbeat, framed as NATS
// sends it, stays within MaxHeartbeatWireBytes for host ids up to a
// machine id's 32 characters, with seq and msg id of 10 digits (a msg id
// every second for 300 years).
func TestEncodeHeartbeatStatsFits(t *testing.T) {
	enc, err := NewEncoder(DefaultSubjectPrefix, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"h", "web-1-prod-eu1", "4f3c2a9e1b7d4c0e8a6f5b3d2c1e0f9a"} {
		t.Run(host, func(t *testing.T) {
			var h HeartbeatStats
			env := Envelope{HostID: host, Epoch: testEpoch, Seq: 9_999_999_999, MsgID: 9_999_999_999,
				ScanTime: time.Date(2026, 11, 25, 22, 47, 4, 123456789, time.UTC), Hostname: "web-1", IntervalMS: 10000}
			for tick := range 12 {
				st := allStats(tick)
				msgs, err := enc.EncodeHeartbeatStats(env, &st, &h)
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 1 {
					t.Fatalf("%d messages", len(msgs))
				}
				// The subscriber's HMSG line has " <sid>" more than HPUB.
				if n := msgs[0].WireBytes() + subscriberIDRoom; n > MaxHeartbeatWireBytes {
					t.Fatalf("tick %d: %d bytes on the wire: %v %s", tick, n, msgs[0].Header, msgs[0].Data)
				}
			}
		})
	}
}
