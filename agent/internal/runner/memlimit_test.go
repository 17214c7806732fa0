package runner

import (
	"bytes"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestMemoryLimit checks that agent-memory-limit becomes the runtime's soft
// limit, that 0 removes it, that GOMEMLIMIT in the environment wins, and that
// a live heap past three quarters of the limit is logged once.
func TestMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	var out bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Info})

	m := newMemoryLimit()
	m.apply(96<<20, logger)
	if got := debug.SetMemoryLimit(-1); got != 96<<20 {
		t.Errorf("limit after apply(96MiB) = %d", got)
	}
	m.check(logger)
	if out.Len() != 0 {
		t.Errorf("a test's live heap under 72MiB logged: %s", out.String())
	}

	// A live heap of at least 24 MiB, checked against a 16 MiB limit.
	ballast := make([]byte, 24<<20)
	for i := range ballast {
		ballast[i] = byte(i)
	}
	m.apply(16<<20, logger)
	runtime.GC()
	m.check(logger)
	m.check(logger)
	runtime.KeepAlive(ballast)
	if n := strings.Count(out.String(), "live heap is near agent-memory-limit"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, out.String())
	}

	m.apply(0, logger)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit after apply(0) = %d, want none", got)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30) // as the runtime did at start
	out.Reset()
	m.apply(64<<20, logger)
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("with GOMEMLIMIT set, limit = %d, want the environment's 1GiB", got)
	}
	if !strings.Contains(out.String(), "GOMEMLIMIT is set in the environment") {
		t.Errorf("GOMEMLIMIT winning not logged: %q", out.String())
	}
}

// TestGCPercent checks that agent-gc-percent becomes the runtime's GC
// percent, and that GOGC in the environment wins, logged once.
func TestGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	var out bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Info})

	m := newMemoryLimit()
	m.applyGCPercent(25, logger)
	if got := debug.SetGCPercent(100); got != 25 {
		t.Errorf("GC percent after applyGCPercent(25) = %d", got)
	}

	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200) // as the runtime did at start
	m.applyGCPercent(25, logger)
	m.applyGCPercent(50, logger)
	if got := debug.SetGCPercent(200); got != 200 {
		t.Errorf("with GOGC set, GC percent = %d, want the environment's 200", got)
	}
	if n := strings.Count(out.String(), "GOGC is set in the environment"); n != 1 {
		t.Errorf("GOGC winning logged %d times, want once: %q", n, out.String())
	}
}
