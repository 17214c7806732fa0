package conns

import (
	"net/netip"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/tcpevents"
)

var t0 = time.Unix(1_800_000_000, 0)

// ev is an event of kind k on cookie at t0+ms, by pid.
func ev(k tcpevents.Kind, cookie uint64, pid uint32, ms int) *tcpevents.Event {
	return &tcpevents.Event{
		Kind: k, Cookie: cookie, PID: pid, NetNS: 4026531840, Family: 2,
		SrcIP: netip.MustParseAddr("127.0.0.1"), SrcPort: 40000 + uint16(cookie),
		DstIP: netip.MustParseAddr("127.0.0.1"), DstPort: 8080,
		Time: t0.Add(time.Duration(ms) * time.Millisecond),
	}
}

// TestTracker feeds event sequences and checks what Take hands out.
func TestTracker(t *testing.T) {
	for _, tt := range []struct {
		name        string
		max, maxOpn int
		events      []*tcpevents.Event
		tables      int // Take's table time, ms after t0
		want        []uint64
		wantDropped int
		wantUntrack uint64
	}{
		{name: "connect and accept closed", max: 10,
			events: []*tcpevents.Event{ev(tcpevents.Connect, 1, 10, 1), ev(tcpevents.Accept, 2, 20, 2), ev(tcpevents.Close, 2, 0, 5), ev(tcpevents.Close, 1, 0, 6)},
			want:   []uint64{2, 1}},
		{name: "still open is not closed", max: 10,
			events: []*tcpevents.Event{ev(tcpevents.Connect, 1, 10, 1)}},
		{name: "listen and unknown close", max: 10,
			events: []*tcpevents.Event{ev(tcpevents.Listen, 1, 10, 1), ev(tcpevents.Close, 1, 0, 2), ev(tcpevents.Close, 9, 0, 3)}},
		{name: "no pid or cookie is not tracked", max: 10,
			events: []*tcpevents.Event{ev(tcpevents.Connect, 1, 0, 1), ev(tcpevents.Accept, 0, 5, 1), ev(tcpevents.Close, 1, 0, 2)}},
		{name: "cap counts the rest", max: 1,
			events:      []*tcpevents.Event{ev(tcpevents.Connect, 1, 10, 1), ev(tcpevents.Connect, 2, 10, 1), ev(tcpevents.Close, 1, 0, 2), ev(tcpevents.Close, 2, 0, 3)},
			want:        []uint64{1},
			wantDropped: 1},
		{name: "open table full", max: 10, maxOpn: 1,
			events:      []*tcpevents.Event{ev(tcpevents.Connect, 1, 10, 1), ev(tcpevents.Connect, 2, 10, 1), ev(tcpevents.Close, 2, 0, 2), ev(tcpevents.Close, 1, 0, 3)},
			want:        []uint64{1},
			wantUntrack: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(Config{MaxClosed: tt.max, MaxOpen: tt.maxOpn})
			for _, e := range tt.events {
				tr.Add(e)
			}
			if got := tr.Stats().Events; got != uint64(len(tt.events)) {
				t.Errorf("events %d, want %d", got, len(tt.events))
			}
			closed, dropped := tr.Take(t0.Add(time.Duration(tt.tables)*time.Millisecond), none)
			var cookies []uint64
			for _, c := range closed {
				cookies = append(cookies, c.Cookie)
				if c.Closed.Before(c.Opened) || c.Proto != "tcp" || c.Remote.Port() != 8080 {
					t.Errorf("conn %+v", c)
				}
			}
			if len(cookies) != len(tt.want) {
				t.Fatalf("closed %v, want %v", cookies, tt.want)
			}
			for i := range cookies {
				if cookies[i] != tt.want[i] {
					t.Fatalf("closed %v, want %v", cookies, tt.want)
				}
			}
			if dropped != tt.wantDropped || tr.Stats().Untracked != tt.wantUntrack {
				t.Errorf("dropped %d, untracked %d; want %d, %d", dropped, tr.Stats().Untracked, tt.wantDropped, tt.wantUntrack)
			}
			if got := tr.Stats().Events; got != uint64(len(tt.events)) {
				t.Errorf("events %d after Take, want %d: the count is of all time", got, len(tt.events))
			}
		})
	}
}

// none is a table that shows no connection.
func none(*Conn) bool { return false }

// TestTakeForgetsWhatTheTablesSaw checks the hand-over at a tick: a
// connection open since before the tables were read and shown in them is
// forgotten, since its later close is a removal; one the tables did not
// show (closing already) is published when it closes, unless KeepTakes
// ticks passed; one opened after the read is published.
func TestTakeForgetsWhatTheTablesSaw(t *testing.T) {
	tr := New(Config{MaxClosed: 10})
	tr.Add(ev(tcpevents.Connect, 1, 10, 1)) // shown in the tables
	tr.Add(ev(tcpevents.Connect, 2, 10, 2)) // not shown: closing
	tr.Add(ev(tcpevents.Connect, 3, 10, 3)) // not shown, closes too late
	tr.Add(ev(tcpevents.Connect, 4, 10, 20))
	shown := func(c *Conn) bool { return c.Cookie == 1 }
	if closed, _ := tr.Take(t0.Add(10*time.Millisecond), shown); len(closed) != 0 {
		t.Fatalf("closed %v before any close", closed)
	}
	for _, c := range []uint64{1, 2, 4} {
		tr.Add(ev(tcpevents.Close, c, 0, 30))
	}
	closed, _ := tr.Take(t0.Add(40*time.Millisecond), shown)
	if len(closed) != 2 || closed[0].Cookie != 2 || closed[1].Cookie != 4 {
		t.Fatalf("closed %+v, want cookies 2 and 4", closed)
	}
	for i := range KeepTakes {
		tr.Take(t0.Add(time.Duration(50+i)*time.Millisecond), shown)
	}
	tr.Add(ev(tcpevents.Close, 3, 0, 100))
	if closed, _ := tr.Take(t0.Add(time.Second), shown); len(closed) != 0 || tr.Stats().Expired != 1 {
		t.Fatalf("closed %+v, expired %d: want the connection kept past KeepTakes forgotten", closed, tr.Stats().Expired)
	}
}

// TestAddClosed checks a close-only connection (destroy events): it is
// handed out as given, counts as an event and against the cap.
func TestAddClosed(t *testing.T) {
	tr := New(Config{MaxClosed: 1})
	c := Conn{Cookie: 7, Role: RoleServer, PID: 3, Closed: t0}
	tr.AddClosed(c)
	tr.AddClosed(c)
	if tr.Stats().Events != 2 {
		t.Errorf("events %d, want 2", tr.Stats().Events)
	}
	closed, dropped := tr.Take(t0, none)
	if len(closed) != 1 || closed[0] != c || dropped != 1 {
		t.Errorf("closed %+v dropped %d", closed, dropped)
	}
}
