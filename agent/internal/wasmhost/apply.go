package wasmhost

import (
	"context"
	"errors"
	"github.com/proctag/proctag/agent/internal/procid"
	"hash/maphash"
	"io/fs"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/sandbox"
	"golang.org/x/sync/errgroup"
)

// Batching: a chunk sent in one proctag_process_batch call holds at most
// chunkRecords records and chunkBytes of encoded input.
const (
	chunkRecords = 64
	chunkBytes   = 256 << 10
)

// Key identifies a process across ticks: the kernel reuses pids, never the
// pair (PID, StartTicks).
type Key = procid.Key

// Input is one process accepted by the rules, as Apply receives it.
type Input struct {
	Key Key
	// Record has every field filled in (Name after the rules, Tags the
	// process's tags so far) except Env, which the host reads through
	// Config.ReadEnv only for plugins granted env. The host filters the
	// fields by each plugin's grant and never modifies Record.
	Record abi.Record
}

// Output is what the plugins made of one process.
type Output struct {
	// Name is the final name (Input.Record.Name when no plugin renamed).
	Name string
	// Tags is the final tag list: the input's tags, then each plugin's
	// removals and additions in plugin order. A fresh slice.
	Tags []abi.Tag
	// Drop reports that a plugin dropped the process; later plugins were
	// not run for it.
	Drop bool
	// Effects has one entry per plugin, in plugin order, for explain.
	Effects []Effect

	// renamedBy is the tenant whose plugin set Name, changedBy every
	// tenant whose plugin changed the process: no tenant's result may
	// change what another tenant's plugin set (ErrOtherTenant).
	renamedBy string
	changedBy []string
}

// ErrOtherTenant is the Effect.Err of a tenant plugin's result that was not
// applied because it would change what another tenant's plugin set: a
// rename of a process another tenant renamed, or a drop of a process
// another tenant renamed or tagged. Tags cannot clash: tenants' tag
// prefixes do not overlap.
var ErrOtherTenant = errors.New("not applied: it would change what another tenant's plugin set")

// Effect is what one plugin did to one process in one Apply.
type Effect struct {
	Plugin string
	// Called reports that the plugin ran for the process in this Apply;
	// false means the cached result was reused or the plugin was skipped.
	Called bool
	// Skipped says why the plugin was not applied at all: "out of scope",
	// "dropped" (an earlier plugin dropped the process); "" otherwise.
	Skipped string
	// Result is the result applied: this call's, or the previous one kept
	// on a cache hit, a fault or a violation. Zero when there is none.
	Result abi.Result
	// Err is the *sandbox.Fault or *sandbox.Violation of the call that
	// produced the current state, or nil. On a fault or violation Result
	// is the previous result, kept. When the circuit is open or the call
	// was deferred it is ErrNotCalled.
	Err error
}

// ErrNotCalled is the Effect.Err of a process whose record changed but whose
// plugin was not called in this Apply (circuit open; deferred while the
// circuit probes; after an earlier record of the same per-record chunk
// faulted); its previous result is kept and the call is retried.
var ErrNotCalled = errors.New("plugin not called in this tick (circuit open or call deferred)")

// entry is the cache of one plugin for one process.
type entry struct {
	fp      uint64
	gen     uint64
	seen    uint64
	result  abi.Result
	err     error
	suspect bool // was in a batch that faulted: call it alone next time

	// The scope regex's verdict, for the process_name and cmdline it was
	// computed on, by plugin generation: a steady tick runs no regex.
	scopeGen        uint64
	scopeName       string
	scopeCmdline    string
	scopeOK, scoped bool
}

// inScope is p.InScope with the regex verdict cached per process.
func (e *entry) inScope(p *plugin, r *abi.Record) bool {
	if !p.ScopeMatchesText() {
		return p.InScope(r)
	}
	if !e.scoped || e.scopeGen != p.gen || e.scopeName != r.ProcessName || e.scopeCmdline != r.Cmdline {
		e.scoped, e.scopeGen, e.scopeName, e.scopeCmdline = true, p.gen, r.ProcessName, r.Cmdline
		e.scopeOK = p.InScope(r)
	}
	return e.scopeOK
}

// envEntry caches a process's environment. /proc/PID/environ is set at
// exec, which keeps the pid and start time, so it is re-read when the
// cmdline changes.
type envEntry struct {
	env     []string
	cmdline string
	seen    uint64
}

// pending is one record a plugin must be called for.
type pending struct {
	proc       int
	start, end int // the encoded record in the arena
	fp         uint64
	res        abi.Result
	err        error
	called     bool
	alone      bool // called in a chunk of its own
}

// Apply runs the plugins over the accepted processes of one tick, in order,
// and returns one Output per Input, in the same order. A plugin is called
// for a process only when the record it may see changed since its last
// call, or the plugin was reloaded; otherwise its cached result is applied.
// Faults and violations keep the previous result; Apply never fails.
// Calls are serialised: one Apply at a time.
func (h *Host) Apply(ctx context.Context, procs []Input) []Output {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	h.mu.RLock()
	defer h.mu.RUnlock()
	h.applied.Store(h.setGen.Load()) // the set cannot change under h.mu
	h.deferred.Store(false)
	h.tick++
	outs := make([]Output, len(procs))
	// One backing array for every Output's Effects (one per plugin), not
	// one allocation per process.
	n := len(h.set)
	effects := make([]Effect, len(procs)*n)
	for i := range procs {
		outs[i].Name = procs[i].Record.Name
		outs[i].Tags = slices.Clone(procs[i].Record.Tags)
		if n > 0 {
			outs[i].Effects = effects[i*n : i*n : (i+1)*n]
		}
	}
	for _, p := range h.set {
		h.applyPlugin(ctx, p, procs, outs)
	}
	h.sweep()
	return outs
}

func (h *Host) applyPlugin(ctx context.Context, p *plugin, procs []Input, outs []Output) {
	cache := h.results[p.name]
	if cache == nil {
		cache = make(map[Key]*entry)
		h.results[p.name] = cache
	}
	arena := h.arena[:0]
	var pend []pending
	var view abi.Record
	for i := range procs {
		in, o := &procs[i], &outs[i]
		if o.Drop {
			o.Effects = append(o.Effects, Effect{Plugin: p.name, Skipped: "dropped"})
			continue
		}
		e := cache[in.Key]
		if e == nil {
			e = &entry{}
			cache[in.Key] = e
		}
		e.seen = h.tick
		if !e.inScope(p, &in.Record) {
			o.Effects = append(o.Effects, Effect{Plugin: p.name, Skipped: "out of scope"})
			continue
		}
		view = in.Record
		view.Name, view.Tags, view.Env = o.Name, o.Tags, nil
		if p.Fields().Has(abi.FieldEnv) {
			view.Env = h.envOf(in)
		}
		start := len(arena)
		arena = abi.AppendRecord(arena, &view, p.Fields())
		fp := maphash.Bytes(h.seed, arena[start:])
		if e.gen == p.gen && e.fp == fp {
			p.stats.hits.Add(1)
			eff := Effect{Plugin: p.name, Result: e.result, Err: e.err}
			if err := applyOwn(p.tenant, o, &e.result); err != nil {
				eff.Err = err
			}
			o.Effects = append(o.Effects, eff)
			continue
		}
		pend = append(pend, pending{proc: i, start: start, end: len(arena), fp: fp})
	}
	if len(pend) > 0 {
		h.call(ctx, p, cache, procs, pend, arena)
	}
	for i := range pend {
		pd := &pend[i]
		in, o := &procs[pd.proc], &outs[pd.proc]
		e := cache[in.Key]
		eff := Effect{Plugin: p.name, Called: pd.called}
		var v *sandbox.Violation
		var f *sandbox.Fault
		switch {
		case !pd.called && pd.err == nil:
			eff.Err = ErrNotCalled
		case pd.err == nil:
			e.result, e.err = pd.res, nil
			e.fp, e.gen, e.suspect = pd.fp, p.gen, false
		case errors.As(pd.err, &v):
			e.err, eff.Err = v, v
			e.fp, e.gen, e.suspect = pd.fp, p.gen, false
		case errors.As(pd.err, &f):
			eff.Err = pd.err
			if f.Kind != sandbox.FaultInit && pd.called {
				// The record is the cause when it was called alone (a
				// looping guest included): do not call again until it
				// changes or the plugin is reloaded. In a batch, call it
				// alone next time to find the culprit. An instance that
				// did not start is not the record's fault.
				if pd.alone {
					e.fp, e.gen, e.err = pd.fp, p.gen, pd.err
				} else {
					e.suspect = true
				}
			}
		default: // shutdown: the context ended
			eff.Err = pd.err
		}
		eff.Result = e.result
		if err := applyOwn(p.tenant, o, &e.result); err != nil {
			eff.Err = err
		}
		o.Effects = append(o.Effects, eff)
	}
	h.arena = arena
}

// applyOwn applies r, the result of a plugin of tenant ("" for the
// operator's), to o unless it would change what another tenant's plugin
// set, and then records what the tenant changed.
func applyOwn(tenant string, o *Output, r *abi.Result) error {
	if tenant == "" {
		applyResult(o, r)
		return nil
	}
	switch {
	case r.Drop && slices.ContainsFunc(o.changedBy, func(t string) bool { return t != tenant }):
		return ErrOtherTenant
	case r.HasRename && o.renamedBy != "" && o.renamedBy != tenant:
		return ErrOtherTenant
	}
	applyResult(o, r)
	if r.HasRename {
		o.renamedBy = tenant
	}
	if (r.HasRename || len(r.SetTags) > 0 || len(r.RemoveTags) > 0) && !slices.Contains(o.changedBy, tenant) {
		o.changedBy = append(o.changedBy, tenant)
	}
	return nil
}

// applyResult applies r to o in the ABI's order: drop, removals, additions,
// rename.
func applyResult(o *Output, r *abi.Result) {
	if r.Drop {
		o.Drop = true
		return
	}
	for _, k := range r.RemoveTags {
		o.Tags = slices.DeleteFunc(o.Tags, func(t abi.Tag) bool { return t.Key == k })
	}
	o.Tags = slices.Grow(o.Tags, len(r.SetTags)) // one allocation, not one per doubling
	for _, t := range r.SetTags {
		if i := slices.IndexFunc(o.Tags, func(x abi.Tag) bool { return x.Key == t.Key }); i >= 0 {
			o.Tags[i].Value = t.Value
		} else {
			o.Tags = append(o.Tags, t)
		}
	}
	if r.HasRename {
		o.Name = r.Rename
	}
}

// envOf returns the process's environment through Config.ReadEnv, cached
// per process. A vanished process has none; other errors are logged once.
func (h *Host) envOf(in *Input) []string {
	e := h.envs[in.Key]
	if e != nil && e.cmdline == in.Record.Cmdline {
		e.seen = h.tick
		return e.env
	}
	e = &envEntry{cmdline: in.Record.Cmdline, seen: h.tick}
	h.envs[in.Key] = e
	if h.cfg.ReadEnv == nil {
		return nil
	}
	env, err := h.cfg.ReadEnv(in.Key.PID)
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ESRCH) && !h.envErrLogged {
		h.envErrLogged = true
		h.logger.Warn("read process environment for plugins", "pid", in.Key.PID, "error", err)
	}
	e.env = env
	return env
}

// sweep forgets processes and plugins not seen in this Apply.
func (h *Host) sweep() {
	for name, cache := range h.results {
		if h.byName(name) == nil {
			delete(h.results, name)
			continue
		}
		for k, e := range cache {
			if e.seen != h.tick {
				delete(cache, k)
			}
		}
	}
	for k, e := range h.envs {
		if e.seen != h.tick {
			delete(h.envs, k)
		}
	}
}

// call runs the plugin for the pending records: in chunks (suspects alone),
// several chunks in parallel up to the pool size. Before each chunk the
// breaker is asked (so a plugin whose circuit opens mid-tick makes no more
// calls; while half-open one probe chunk runs at a time) and the plugin's
// tick budget is checked; a chunk not run keeps its records' previous
// results and is retried in a later tick.
func (h *Host) call(ctx context.Context, p *plugin, cache map[Key]*entry, procs []Input, pend []pending, arena []byte) {
	var chunks [][]int // indexes into pend
	var cur []int
	size := 0
	for i := range pend {
		pd := &pend[i]
		if cache[procs[pd.proc].Key].suspect {
			chunks = append(chunks, []int{i})
			continue
		}
		n := pd.end - pd.start
		if len(cur) > 0 && (len(cur) == chunkRecords || size+n > chunkBytes) {
			chunks = append(chunks, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += n
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	var spent atomic.Int64 // nanoseconds of this tick's calls
	skipped := func(ch []int) {
		h.deferred.Store(true)
		p.stats.budgetSkips.Add(uint64(len(ch)))
		if !p.loggedBudget.Swap(true) {
			p.logger.Warn("plugin tick budget used up, the other records wait for later ticks",
				"tick_budget", p.tickBudget, "waiting", len(ch))
		}
	}
	run := func(ch []int) error {
		if ok, _ := p.breaker.allow(h.now()); !ok {
			return nil
		}
		if time.Duration(spent.Load()) >= p.tickBudget {
			p.breaker.release()
			skipped(ch)
			return nil
		}
		start := time.Now()
		err := p.runChunk(ctx, pend, ch, arena)
		spent.Add(int64(time.Since(start)))
		if ctx.Err() == nil {
			p.noteBreaker(p.breaker.record(h.now(), err != nil))
		} else {
			p.breaker.release()
		}
		return nil
	}
	if len(chunks) == 1 || p.instances == 1 {
		for _, ch := range chunks {
			_ = run(ch) // no goroutine (and no stack growth) for one chunk
		}
	} else {
		var g errgroup.Group
		g.SetLimit(p.instances)
		for _, ch := range chunks {
			g.Go(func() error { return run(ch) })
		}
		_ = g.Wait()
	}
	for _, ch := range chunks {
		if len(ch) == 1 {
			pend[ch[0]].alone = true
		}
	}
}

// runChunk calls the plugin for the records pend[ch[...]] on one instance
// (sandbox.Plugin.Run) and fills in their results or errors; it counts
// and logs the faults and violations. It returns the fault or violation,
// if any, for the breaker.
func (p *plugin) runChunk(ctx context.Context, pend []pending, ch []int, arena []byte) error {
	recs := make([][]byte, len(ch))
	for j, i := range ch {
		recs[j] = arena[pend[i].start:pend[i].end]
	}
	outs := make([]sandbox.Outcome, len(ch))
	err := p.Run(ctx, recs, outs)
	for j, i := range ch {
		pd, o := &pend[i], &outs[j]
		pd.called, pd.res, pd.err = o.Called, o.Result, o.Err
		if v, ok := errors.AsType[*sandbox.Violation](o.Err); ok {
			p.noteViolation(v)
		}
	}
	if _, fault := errors.AsType[*sandbox.Fault](err); fault {
		p.noteFault(err)
	}
	return err
}
