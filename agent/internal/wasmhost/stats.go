package wasmhost

import (
	"sync/atomic"
	"time"

	"github.com/proctag/proctag/agent/internal/sandbox"
)

// counters are one plugin name's counters; they survive reloads. The
// sandbox counts calls, records, call time, recycled instances and dropped
// guest lines; the step the rest.
type counters struct {
	sandbox.Counters
	hits, violations                  atomic.Uint64
	loads, loadFailures, breakerOpens atomic.Uint64
	budgetSkips                       atomic.Uint64
	faults                            [sandbox.NumFaultKinds]atomic.Uint64
	lastFault                         atomic.Pointer[string]
}

// Stats is a point-in-time copy of the host's counters.
type Stats struct {
	// Plugins are in Apply order; a configured plugin that failed to load
	// is listed with Loaded false.
	Plugins []PluginStats
}

// PluginStats are the counters of one plugin name since the host started,
// summed over its reloads.
type PluginStats struct {
	Name string
	// Loaded reports whether a version of the plugin is serving; SHA256 is
	// its module's hash and LoadError why the last load failed ("" if none).
	Loaded    bool
	SHA256    string
	LoadError string
	// StopMode is how the loaded version's calls are stopped at their
	// timeout (sandbox.StopInline: a module the rewriter refuses does not load).
	StopMode sandbox.StopMode
	// Loads counts successful loads (1 + reloads), LoadFailures failed ones.
	Loads, LoadFailures uint64
	// Calls counts export calls (a batch is one call); Records the records
	// sent in them; CacheHits the records answered from the cache.
	Calls, Records, CacheHits uint64
	// CallTime is the total time spent in calls.
	CallTime time.Duration
	// Faults counts failed calls and instance starts by sandbox.FaultKind name;
	// LastFault is the newest fault's text.
	Faults    map[string]uint64
	LastFault string
	// Violations counts outputs rejected for leaving the grant (also
	// counted in Faults as "grant").
	Violations uint64
	// BudgetSkips counts records not called in a tick because the plugin
	// had used its tick-budget; they are called in later ticks.
	BudgetSkips uint64
	// GuestLogDropped counts guest log lines dropped by the rate limit.
	GuestLogDropped uint64
	// Breaker is the circuit breaker's state; BreakerOpens counts openings.
	Breaker      BreakerState
	BreakerOpens uint64
	// Instances is the number of live instances; Recycled counts healthy
	// instances closed by the sandbox after many calls or for their memory.
	Instances int
	Recycled  uint64
}

func (c *counters) fill(s *PluginStats) {
	s.Loads, s.LoadFailures = c.loads.Load(), c.loadFailures.Load()
	s.Calls, s.Records, s.CacheHits = c.Calls.Load(), c.Records.Load(), c.hits.Load()
	s.CallTime = time.Duration(c.CallNanos.Load())
	s.Violations, s.BreakerOpens = c.violations.Load(), c.breakerOpens.Load()
	s.Recycled, s.BudgetSkips = c.Recycled.Load(), c.budgetSkips.Load()
	s.GuestLogDropped = c.GuestLogDropped.Load()
	if f := c.lastFault.Load(); f != nil {
		s.LastFault = *f
	}
	s.Faults = make(map[string]uint64)
	for k := range sandbox.NumFaultKinds {
		if n := c.faults[k].Load(); n > 0 {
			s.Faults[k.String()] = n
		}
	}
}

// Stats returns the counters of every plugin the host knows. Safe to call
// concurrently with Apply and Run.
func (h *Host) Stats() Stats {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var st Stats
	for _, name := range h.order() {
		c := h.counters[name]
		s := PluginStats{Name: name, LoadError: h.loadErrs[name]}
		c.fill(&s)
		if p := h.byName(name); p != nil {
			s.Loaded, s.SHA256, s.StopMode = true, p.SHA256(), p.StopMode()
			s.Breaker, _ = p.breaker.snapshot()
			s.Instances = p.Instances()
		}
		st.Plugins = append(st.Plugins, s)
	}
	return st
}
