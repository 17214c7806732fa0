package runner

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// agentMemory is the process's one memory limit, applied by Build (start,
// reload, scan) and checked after each tick.
var agentMemory = newMemoryLimit()

// memoryLimit applies agent-memory-limit to the Go runtime and watches the
// live heap against it. GOMEMLIMIT in the environment wins over the config:
// the runtime has read it at start, and memoryLimit leaves it alone.
type memoryLimit struct {
	limit    atomic.Int64 // the limit applied; 0 when none or GOMEMLIMIT rules
	warned   atomic.Bool
	gcLogged atomic.Bool // GOGC winning over agent-gc-percent was logged
	sample   [1]metrics.Sample
}

// newMemoryLimit returns a watcher of the live heap.
func newMemoryLimit() *memoryLimit {
	m := &memoryLimit{}
	m.sample[0].Name = "/gc/heap/live:bytes"
	return m
}

// apply sets the runtime's soft limit to limit bytes (0 = none), unless the
// GOMEMLIMIT environment variable is set.
func (m *memoryLimit) apply(limit int64, logger hclog.Logger) {
	if env, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		if limit != 0 && m.warned.CompareAndSwap(false, true) {
			logger.Info("GOMEMLIMIT is set in the environment and wins over agent-memory-limit", "GOMEMLIMIT", env, "agent-memory-limit", limit)
		}
		m.limit.Store(0)
		return
	}
	if limit == 0 {
		debug.SetMemoryLimit(math.MaxInt64)
	} else {
		debug.SetMemoryLimit(limit)
	}
	if limit != m.limit.Swap(limit) {
		m.warned.Store(false)
	}
}

// applyGCPercent sets the runtime's GC percent to pct (agent-gc-percent),
// unless the GOGC environment variable is set: the runtime has read it at
// start, and it wins (logged once).
func (m *memoryLimit) applyGCPercent(pct int, logger hclog.Logger) {
	if env, ok := os.LookupEnv("GOGC"); ok {
		if m.gcLogged.CompareAndSwap(false, true) {
			logger.Info("GOGC is set in the environment and wins over agent-gc-percent", "GOGC", env, "agent-gc-percent", pct)
		}
		return
	}
	debug.SetGCPercent(pct)
}

// check warns once per limit when the live heap (what the last garbage
// collection kept) passes three quarters of the limit: past the limit the
// collector would run almost continuously, up to half the CPU.
func (m *memoryLimit) check(logger hclog.Logger) {
	limit := m.limit.Load()
	if limit == 0 {
		return
	}
	metrics.Read(m.sample[:])
	if m.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := m.sample[0].Value.Uint64()
	if live > uint64(limit)/4*3 && m.warned.CompareAndSwap(false, true) {
		logger.Warn("the agent's live heap is near agent-memory-limit: the garbage collector will run often; raise agent-memory-limit for a host this size",
			"live_heap_bytes", live, "agent-memory-limit", limit)
	}
}
