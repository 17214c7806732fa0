package pipeline

import (
	"net/netip"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/conns"
	"github.com/proctag/proctag/agent/snapshot"
)

// TestClosedConnections checks how a closed connection finds its process
// among the reported ones: by pid, the one that started last before the
// connection opened (a reused pid), within the 10 ms of /proc's start
// times; by its close when the open is unknown; among the last state's
// processes when it is not in this tick's (exited, or its pid reused
// since); and not at all when no reported process had the pid then.
func TestClosedConnections(t *testing.T) {
	at := func(ms int64) time.Time { return time.UnixMilli(ms) }
	procs := []snapshot.Process{
		{PID: 5, StartTime: 1000, Name: "old"},
		{PID: 5, StartTime: 5000, Name: "reused"},
		{PID: 7, StartTime: 3005, Name: "fresh"},
	}
	addr := netip.MustParseAddrPort("10.0.0.1:80")
	for _, tt := range []struct {
		name     string
		c        conns.Conn
		wantName string // "" for not published
	}{
		{"before the reuse", conns.Conn{PID: 5, Opened: at(4000), Closed: at(4100)}, "old"},
		{"after the reuse", conns.Conn{PID: 5, Opened: at(6000), Closed: at(6100)}, "reused"},
		{"start within a tick", conns.Conn{PID: 7, Opened: at(3000), Closed: at(3001)}, "fresh"},
		{"opened before its process", conns.Conn{PID: 5, Opened: at(500), Closed: at(3100)}, ""},
		{"opened before the pid was reused", conns.Conn{PID: 7, Opened: at(2000), Closed: at(3100)}, "before"},
		{"open unknown", conns.Conn{PID: 5, Closed: at(5500)}, "reused"},
		{"not reported", conns.Conn{PID: 9, Opened: at(6000), Closed: at(6100)}, ""},
		{"exited since the last state", conns.Conn{PID: 11, Opened: at(6000), Closed: at(6100)}, "gone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Local, tt.c.Remote, tt.c.Proto, tt.c.Role = addr, addr, "tcp", conns.RoleServer
			got := closedConnections([]conns.Conn{tt.c}, procs, []snapshot.Process{{PID: 11, StartTime: 900, Name: "gone"}, {PID: 7, StartTime: 1000, Name: "before"}})
			switch {
			case tt.wantName == "" && len(got) != 0:
				t.Fatalf("published %+v", got)
			case tt.wantName == "":
			case len(got) != 1 || got[0].Name != tt.wantName || got[0].PID != tt.c.PID:
				t.Fatalf("got %+v, want %s", got, tt.wantName)
			case got[0].Closed != tt.c.Closed.UnixMilli() || (tt.c.Opened.IsZero() != (got[0].Opened == 0)):
				t.Errorf("times %d..%d", got[0].Opened, got[0].Closed)
			}
		})
	}
}
