package sockets

import (
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// stepWall returns t as time.Now would return it after the wall clock was
// stepped by d (whole seconds): the same monotonic reading, the wall time
// moved. (time.Time keeps the wall seconds since 1885 in bits 30..62 of its
// first word when it has a monotonic reading.)
func stepWall(t *testing.T, now time.Time, d time.Duration) time.Time {
	t.Helper()
	type rep struct {
		wall uint64
		ext  int64
		loc  *time.Location
	}
	s := now
	r := (*rep)(unsafe.Pointer(&s))
	if r.wall>>63 == 0 {
		t.Fatal("no monotonic reading")
	}
	r.wall += uint64(int64(d/time.Second)) << 30
	if s.Sub(now) != 0 || s.Unix()-now.Unix() != int64(d/time.Second) {
		t.Fatalf("stepWall: monotonic moved by %v, wall by %ds", s.Sub(now), s.Unix()-now.Unix())
	}
	return s
}

// TestMinLifetimeClockStep: the scan's now is time.Now(), with a monotonic
// reading. A socket first seen by a steady Collect is reported once
// min-lifetime has passed on the monotonic clock, whatever the wall clock
// does meanwhile.
func TestMinLifetimeClockStep(t *testing.T) {
	const minLife = 10 * time.Second
	for _, tt := range []struct {
		name string
		// at is the monotonic offset from t0 of the checked Collect, step
		// the wall-clock step before it.
		at, step time.Duration
		want     bool // socket 11 reported
	}{
		{"no step, 1s old", 2 * time.Second, 0, false},
		{"no step, 11s old", 12 * time.Second, 0, true},
		{"wall +1h, 1s old", 2 * time.Second, time.Hour, false},
		{"wall -1h, 11s old", 12 * time.Second, -time.Hour, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tree := &fakeproc.Tree{BootTime: bootTime, Procs: []fakeproc.Proc{proc(100, 1, 1000, nsA)}}
			tree.AddSocket(nsA, fakeproc.TCP, tableRow(10, "0.0.0.0:80", "0.0.0.0:0", fakeproc.TCPListen), 100)
			dir := writeTree(t, tree)
			owners := ownersOf(t, tree, 100)
			c := newCollector(t, dir, minLife)
			collect := func(now time.Time) []uint64 {
				t.Helper()
				got, err := c.Collect(t.Context(), now, owners, true)
				if err != nil {
					t.Fatal(err)
				}
				var out []uint64
				for _, s := range got {
					out = append(out, s.Inode)
				}
				return out
			}
			t0 := time.Now()
			collect(t0)
			addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(11, "10.0.0.1:80", "10.0.0.9:50000", fakeproc.TCPEstablished), 100)
			if got := collect(t0.Add(time.Second)); slices.Contains(got, 11) {
				t.Fatalf("socket 11 reported on its first sight: %v", got)
			}
			if tt.step < 0 {
				// 11 is reported before the step (old enough), then the
				// table changes so that the part is picked again.
				if got := collect(t0.Add(tt.at - time.Second)); !slices.Contains(got, 11) {
					t.Fatalf("socket 11 not reported %v after first sight: %v", tt.at-2*time.Second, got)
				}
				addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(12, "10.0.0.1:80", "10.0.0.8:50001", fakeproc.TCPEstablished), 100)
			}
			now := t0.Add(tt.at)
			if tt.step != 0 {
				now = stepWall(t, now, tt.step)
			}
			if got := collect(now); slices.Contains(got, 11) != tt.want {
				t.Errorf("socket 11 first seen %v ago (monotonic), wall clock stepped %v: reported %v, want reported=%v",
					now.Sub(t0.Add(time.Second)), tt.step, got, tt.want)
			}
		})
	}
}
