package runner

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestSelfRSSMatchesStatus compares selfRSS with VmRSS of
// /proc/self/status, read just before and after: the kernel computes both
// from the same counters, so selfRSS lies between the two readings, give
// or take what the test's own allocations moved in between (1 MiB).
func TestSelfRSSMatchesStatus(t *testing.T) {
	before := vmRSS(t)
	got := selfRSS()
	after := vmRSS(t)
	const slack = 1 << 20
	lo, hi := min(before, after)-slack, max(before, after)+slack
	if got <= 0 || got < lo || got > hi {
		t.Fatalf("selfRSS = %d, want within [%d, %d] (VmRSS %d then %d)", got, lo, hi, before, after)
	}
}

// vmRSS reads VmRSS (kB) from /proc/self/status, in bytes.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
