package sockets

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// TestCollectHammer runs Collects with changing owner sets from many
// goroutines while others read the PIDs of earlier results, which share
// the collector's copy-on-write holder slices. Run under -race.
func TestCollectHammer(t *testing.T) {
	tree := host()
	dir := writeTree(t, tree)
	c := newCollector(t, dir, 0)
	sets := [][]int{{100, 101, 102, 200}, {101}, {100, 200}, {102, 101}}
	wantPIDs := map[int]map[uint64][]int{}
	for i, pids := range sets {
		got, err := newCollector(t, dir, 0).Collect(t.Context(), time.Now(), ownersOf(t, tree, pids...), false)
		if err != nil {
			t.Fatal(err)
		}
		wantPIDs[i] = map[uint64][]int{}
		for _, s := range got {
			wantPIDs[i][s.Inode] = slices.Clone(s.PIDs)
		}
	}
	results := make(chan []Socket, 64)
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for socks := range results {
				for _, s := range socks {
					if len(s.PIDs) == 0 || !slices.IsSorted(s.PIDs) {
						t.Errorf("socket %d has pids %v", s.Inode, s.PIDs)
					}
				}
			}
		})
	}
	var writers sync.WaitGroup
	for g := range 8 {
		writers.Go(func() {
			for i := range 50 {
				set := (g + i) % len(sets)
				got, err := c.Collect(t.Context(), time.Now(), ownersOf(t, tree, sets[set]...), i%7 == 0)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) != len(wantPIDs[set]) {
					t.Errorf("owner set %v: %d sockets, want %d", sets[set], len(got), len(wantPIDs[set]))
				}
				for _, s := range got {
					if w := wantPIDs[set][s.Inode]; !slices.Equal(s.PIDs, w) {
						t.Errorf("owner set %v: socket %d pids %v, want %v", sets[set], s.Inode, s.PIDs, w)
					}
				}
				results <- got
			}
		})
	}
	writers.Wait()
	close(results)
	readers.Wait()
}
