package procevents

import "testing"

func TestSeqTracker(t *testing.T) {
	type obs struct {
		cpu, seq uint32
		missing  uint32
	}
	for _, tc := range []struct {
		name string
		obs  []obs
	}{
		{"consecutive", []obs{{0, 5, 0}, {0, 6, 0}, {0, 7, 0}}},
		{"first message of a cpu sets its base", []obs{{3, 100, 0}, {3, 101, 0}}},
		{"gap", []obs{{0, 5, 0}, {0, 9, 3}, {0, 10, 0}}},
		{"cpus count apart", []obs{{0, 5, 0}, {1, 50, 0}, {0, 6, 0}, {1, 52, 1}}},
		{"counter wraps", []obs{{0, 0xffffffff, 0}, {0, 0, 0}, {0, 2, 1}}},
		{"backwards starts over", []obs{{0, 10, 0}, {0, 3, 0}, {0, 4, 0}}},
		{"cpu beyond the limit forgets all", []obs{{0, 10, 0}, {maxCPUs, 1, 0}, {0, 20, 0}}},
		{"duplicate starts over", []obs{{0, 10, 0}, {0, 10, 0}, {0, 11, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr seqTracker
			for i, o := range tc.obs {
				if got := tr.observe(o.cpu, o.seq); got != o.missing {
					t.Errorf("observation %d (cpu %d seq %d): %d missing, want %d", i, o.cpu, o.seq, got, o.missing)
				}
			}
		})
	}
}

func TestSeqTrackerReset(t *testing.T) {
	var tr seqTracker
	tr.observe(2, 10)
	tr.reset()
	if got := tr.observe(2, 50); got != 0 {
		t.Errorf("after reset: %d missing, want 0", got)
	}
}
