package runner

import (
	"testing"

	"github.com/proctag/proctag/agent/snapshot"
)

// TestDestroySourceHolds checks what the destroy reader tells the
// pipeline it still reads: the list its index was built from, whatever
// part of it is passed, and nothing else; a nil reader reads nothing.
func TestDestroySourceHolds(t *testing.T) {
	built := make([]snapshot.SocketRow, 3)
	other := make([]snapshot.SocketRow, 3)
	s := &destroySource{sockets: built}
	var none *destroySource
	for _, tt := range []struct {
		name  string
		src   *destroySource
		socks []snapshot.SocketRow
		want  bool
	}{
		{"the list of the index", s, built, true},
		{"a shorter slice of it", s, built[:1], true},
		{"another list", s, other, false},
		{"no list", s, nil, false},
		{"no reader", none, built, false},
		{"a reader with no index yet", &destroySource{}, built, false},
	} {
		if got := tt.src.holds(tt.socks); got != tt.want {
			t.Errorf("%s: holds = %v, want %v", tt.name, got, tt.want)
		}
	}
}
