package loopconn

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/waitfor"
)

// states counts the rows of /proc/self/task/TID/net/tcp per state (the
// st column, hex).
func states(t *testing.T, tid int) map[string]int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/net/tcp", tid))
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for i, line := range bytes.Split(b, []byte("\n")) {
		if f := bytes.Fields(line); i > 0 && len(f) > 3 {
			n[string(f[3])]++
		}
	}
	return n
}

func TestOpen(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	tests := []struct {
		name         string
		n, batch     int
		held, parked int
	}{
		{"held", 300, 0, 300, 0},
		{"parked in batches", 300, 128, 0, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, err := NewNetNS()
			if err != nil {
				t.Fatal(err)
			}
			defer ns.Close()
			var p *Pairs
			if err := ns.Do(func() (err error) {
				if tt.batch == 0 {
					p, err = Open(tt.n)
				} else {
					p, err = OpenParked(tt.n, tt.batch)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(p.Clients) != tt.held || len(p.Servers) != tt.held || p.Parked != tt.parked {
				t.Errorf("%d clients, %d servers, %d parked; want %d, %d, %d", len(p.Clients), len(p.Servers), p.Parked, tt.held, tt.held, tt.parked)
			}
			if got := states(t, ns.TID); got["01"] != 2*tt.n || got["0A"] != 1 {
				t.Errorf("states %v, want %d ESTABLISHED (01) and one LISTEN (0A)", got, 2*tt.n)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			waitfor.Until(t, 10*time.Second, func() bool {
				got := states(t, ns.TID)
				return got["01"] == 0 && got["0A"] == 0
			}, "connections still open after Close")
		})
	}
}
