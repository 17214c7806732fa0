package main

import (
	"testing"
	"time"

	"github.com/proctag/proctag/agent/snapshot"
)

func TestParseConnLine(t *testing.T) {
	tests := []struct {
		line string
		want conn
		ok   bool
	}{
		{"conn 55434 1796280666879 1796280666900", conn{port: 55434, when: span{1796280666879, 1796280666900}}, true},
		{"done 2399 0", conn{}, false},
		{"conn 70000 1 2", conn{}, false}, // not a port
		{"conn 5 9 8", conn{}, false},     // closed before opened
		{"conn 5 9", conn{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, ok := parseConnLine(tt.line)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSightingsMatch(t *testing.T) {
	const (
		lport     = 4000
		clientPID = 100
		serverPID = 200
	)
	scan := time.UnixMilli(1_000_000)
	conns := []conn{
		{pid: clientPID, port: 50001, when: span{995_000, 995_020}},   // both ends in Closed
		{pid: clientPID, port: 50002, when: span{996_000, 996_020}},   // server end only
		{pid: clientPID, port: 50003, when: span{997_000, 997_020}},   // client end with the wrong pid
		{pid: clientPID, port: 50004, when: span{999_990, 1_000_010}}, // live at the scan: Sockets
		{pid: clientPID, port: 50001, when: span{960_000, 960_020}},   // the same port long before: not seen
	}
	st := &snapshot.Snapshot{
		Host: snapshot.Host{ScanTime: scan},
		Closed: []snapshot.Connection{
			{Role: "client", LocalPort: 50001, RemotePort: lport, PID: clientPID, Opened: 995_000, Closed: 995_021},
			{Role: "server", LocalPort: lport, RemotePort: 50001, PID: serverPID, Opened: 995_001, Closed: 995_020},
			{Role: "server", LocalPort: lport, RemotePort: 50002, PID: serverPID}, // no times: the tick's interval
			{Role: "client", LocalPort: 50003, RemotePort: lport, PID: 999, Opened: 997_000, Closed: 997_020},
			{Role: "server", LocalPort: lport, RemotePort: 50003, PID: serverPID, Opened: 997_000, Closed: 997_020},
			{Role: "client", LocalPort: 50005, RemotePort: 9, PID: clientPID, Opened: 997_000, Closed: 997_020}, // another listener
		},
		Sockets: []snapshot.Socket{
			{Role: "server", LocalPort: lport, State: "LISTEN", PIDs: []int{serverPID}},
			{Role: "client", LocalPort: 50004, RemotePort: lport, PIDs: []int{clientPID}},
			{Role: "server", LocalPort: lport, RemotePort: 50004, PIDs: []int{serverPID}},
		},
		ClosedDropped: 3,
	}
	s := newSightings(lport, 10*time.Second)
	s.observe(time.Now(), st)
	got := s.match(conns, serverPID)
	want := attribution{made: 5, client: 2, server: 4, both: 2, states: 1, closed: 5, closedDropped: 3}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got.share() != 40 {
		t.Errorf("share %v, want 40", got.share())
	}
}
