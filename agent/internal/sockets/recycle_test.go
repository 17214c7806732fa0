package sockets

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestCollectRecycles checks that a report is written into the slice of
// the report before the last exactly when the caller says it no longer
// reads it (Recycle), that a report the caller still reads is never
// written to, and that the Collector lets go of the older report after a
// Collect that found nothing changed. Each step after the first replaces
// a connection of host(), or changes nothing (quiet).
func TestCollectRecycles(t *testing.T) {
	tests := []struct {
		name string
		// quiet lists the steps (1-based, after the first Collect) that
		// change nothing.
		quiet []int
		steps int
		// holds says whether the caller still reads the report of step i
		// (0 is the first Collect's).
		holds func(i int) bool
		// recycledAt lists the steps whose report is written into the
		// report of two reports before.
		recycledAt []int
	}{
		{name: "the caller lets go of every report", steps: 4, holds: func(int) bool { return false }, recycledAt: []int{2, 3, 4}},
		{name: "the caller keeps every report", steps: 4, holds: func(int) bool { return true }},
		{name: "the caller keeps the first report", steps: 3, holds: func(i int) bool { return i == 0 }, recycledAt: []int{3}},
		{name: "a quiet Collect lets go of the older report", steps: 4, quiet: []int{2}, holds: func(int) bool { return false }, recycledAt: []int{4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := host()
			dir := writeTree(t, tree)
			owners := []int{100, 101, 102, 200}
			c := newCollector(t, dir, 0)
			var reports [][]Socket // the reports made, in order
			var saved [][]string   // and what each said when it was made
			c.Recycle(func(report any) bool {
				r := report.([]Socket)
				for i := range reports {
					if sameBacking(reports[i], r) {
						return tt.holds(i)
					}
				}
				t.Fatalf("asked about a report Collect never returned")
				return true
			})
			now := time.Now()
			inode := uint64(42) // B's connection, replaced at every step
			for step := 0; step <= tt.steps; step++ {
				quiet := slices.Contains(tt.quiet, step)
				if step > 0 && !quiet {
					next := 1000 + uint64(step)
					replaceSocket(t, dir, tree, nsB, inode, tableRow(next, "10.1.0.2:8080", "10.1.0.3:"+strconv.Itoa(40000+step), fakeproc.TCPEstablished))
					inode = next
				}
				now = now.Add(time.Second)
				before := c.Recycled()
				got, err := c.Collect(t.Context(), now, ownersOf(t, tree, owners...), false)
				if err != nil {
					t.Fatal(err)
				}
				recycled := c.Recycled() - before
				if want := slices.Contains(tt.recycledAt, step); recycled != map[bool]uint64{false: 0, true: 1}[want] {
					t.Errorf("step %d: %d reports recycled, want recycled %v", step, recycled, want)
				}
				if quiet {
					if !sameBacking(got, reports[len(reports)-1]) {
						t.Errorf("step %d: a quiet Collect made a new report", step)
					}
					continue
				}
				if recycled == 1 && !sameBacking(got, reports[len(reports)-2]) {
					t.Errorf("step %d: recycled, but not into the report before the last", step)
				}
				for i, r := range reports {
					if tt.holds(i) && sameBacking(got, r) {
						t.Errorf("step %d: written into report %d, which the caller reads", step, i)
					}
					if tt.holds(i) || i == len(reports)-1 {
						if g := lines(r); !slices.Equal(g, saved[i]) {
							t.Errorf("step %d: report %d, which the caller reads, changed:\n%s\nwas:\n%s", step, i, strings.Join(g, "\n"), strings.Join(saved[i], "\n"))
						}
					}
				}
				fresh, err := newCollector(t, dir, 0).Collect(t.Context(), now, ownersOf(t, tree, owners...), false)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(lines(got), lines(fresh)) {
					t.Errorf("step %d:\n%s\na new Collector's:\n%s", step, strings.Join(lines(got), "\n"), strings.Join(lines(fresh), "\n"))
				}
				reports, saved = append(reports, got), append(saved, lines(got))
			}
		})
	}
}

// sameBacking reports whether a and b share their backing array.
func sameBacking(a, b []Socket) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:cap(a)][cap(a)-1] == &b[:cap(b)][cap(b)-1]
}
