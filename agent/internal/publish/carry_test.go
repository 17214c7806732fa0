package publish

import (
	"testing"

	"github.com/proctag/proctag/agent/snapshot"
)

// conns returns n closed connections with cookies from first on.
func conns(first, n int) []snapshot.Connection {
	out := make([]snapshot.Connection, n)
	for i := range out {
		out[i].Cookie = uint64(first + i)
	}
	return out
}

// TestCarryClosed checks that the closed connections of a state replaced
// before it was published go out with the next one, oldest first, that
// the cap counts what it cuts, and that the next state is not modified.
func TestCarryClosed(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		prev, next           int
		prevDropped          int
		wantLen, wantDropped int
		wantFirst            uint64
	}{
		{"both", 3, 2, 0, 5, 0, 1},
		{"prev only", 4, 0, 1, 4, 1, 1},
		{"over the cap", maxCarriedClosed, 10, 0, maxCarriedClosed, 10, 11},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prev := &snapshot.Snapshot{Closed: conns(1, tt.prev), ClosedDropped: tt.prevDropped}
			next := &snapshot.Snapshot{Closed: conns(1+tt.prev, tt.next)}
			got := carryClosed(prev, next)
			if len(got.Closed) != tt.wantLen || got.ClosedDropped != tt.wantDropped {
				t.Fatalf("%d closed, %d dropped; want %d, %d", len(got.Closed), got.ClosedDropped, tt.wantLen, tt.wantDropped)
			}
			if got.Closed[0].Cookie != tt.wantFirst || got.Closed[len(got.Closed)-1].Cookie != uint64(tt.prev+tt.next) {
				t.Errorf("kept cookies %d..%d, want %d..%d", got.Closed[0].Cookie, got.Closed[len(got.Closed)-1].Cookie, tt.wantFirst, tt.prev+tt.next)
			}
			if len(next.Closed) != tt.next || next.ClosedDropped != 0 {
				t.Errorf("next was modified: %d closed, %d dropped", len(next.Closed), next.ClosedDropped)
			}
		})
	}
}
