package sockets

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/procid"
)

// Config configures a Collector. The zero value reads /proc and reports
// every socket at once.
type Config struct {
	// Root is the procfs mount (os-proc-root); "" means /proc.
	Root string
	// MinLifetime is os-proc-socket-min-lifetime: a socket is reported
	// once it was first seen at least this long ago. Not negative.
	MinLifetime time.Duration
	// SockDiag reads the socket tables of each network namespace over
	// sock_diag netlink, one Conn per namespace, with /proc/PID/net as
	// the fallback where a Conn cannot be opened or a dump fails (see the
	// package documentation). It takes effect only when Root is a procfs
	// mount: a fake tree has no namespaces to enter.
	SockDiag bool
}

// UseFDs makes Collects that have many fd/ directories to walk take their
// sockets from one dump of d instead (package fditer; see dumpWalks); nil
// turns it off. d's pids must be Root's.
func (c *Collector) UseFDs(d FDDumper) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fds = d
}

// FDDumper lists the socket file descriptors of every process of the
// host in one pass, as package fditer's Iter does.
type FDDumper interface {
	// Dump calls fn for every socket descriptor of every process: the
	// process's pid and start time (clock ticks since boot, as in
	// /proc/PID/stat) and the socket's inode.
	Dump(fn func(pid int, startTicks, inode uint64)) error
}

// Owner is a process whose sockets are reported: the scan's view of a
// reported process.
type Owner struct {
	// Key is the process's identity: PID, the process id under Root, and
	// StartTicks, its start time from /proc/PID/stat; both are promoted
	// to Owner.
	procid.Key
	// StartTime is StartTicks as a wall-clock time; it seeds the first-seen
	// time of sockets on the first Collect.
	StartTime time.Time
	// NetNS is the inode of /proc/PID/ns/net, 0 when unreadable.
	NetNS uint64
	// UID is the owner of /proc/PID, -1 when unknown; it picks the owners
	// to walk again for a socket no known owner holds (see Collect).
	UID int
}

// Socket is one reported socket.
type Socket struct {
	// Proto is tcp, tcp6, udp or udp6: the table the socket is in.
	Proto string
	// Local and Remote are the socket's addresses; IPv4-mapped IPv6
	// addresses are given as IPv4. Remote is unspecified with port 0 for
	// a listener.
	Local, Remote netip.AddrPort
	// State is the kernel's state name: LISTEN or ESTABLISHED for TCP,
	// CLOSE (bound, unconnected) or ESTABLISHED for UDP.
	State string
	// Role is "server" or "client" (see the package documentation).
	Role string
	// Inode is the socket inode, unique on the host.
	Inode uint64
	// NetNS is the network namespace (Owner.NetNS) whose tables hold the
	// socket.
	NetNS uint64
	// PIDs are the owners holding the socket, ascending. The slice is
	// shared with other Sockets and later Collects: read it, never change it.
	PIDs []int
	// FirstSeen is when the socket was first seen (see the package
	// documentation for the first Collect).
	FirstSeen time.Time
	// holders points to PIDs as the collector keeps them (see Holders).
	holders *[]int
}

// Holders returns a pointer to PIDs that stays valid when the Socket is
// reused, for a holder of many sockets that keeps 8 bytes of each instead
// of 24: the collector's own, shared (never to be changed), for a Socket it
// made, else a copy of the PIDs slice.
func (s *Socket) Holders() *[]int {
	if s.holders != nil {
		return s.holders
	}
	pids := s.PIDs
	return &pids
}

// Role values.
const (
	RoleServer = "server"
	RoleClient = "client"
)

// Collector collects the sockets of processes and keeps the caches that
// make a steady tick cheap: the socket inodes per process identity and the
// first-seen time per socket. Its methods are safe for concurrent use;
// Collects run one at a time.
type Collector struct {
	root        string
	minLifetime time.Duration
	logger      hclog.Logger

	fds       FDDumper
	mu        sync.Mutex
	gen       uint64
	collected bool // a Collect has succeeded: first-seen times are now
	owners    map[procid.Key]*ownerState
	socks     map[uint64]*sock
	readers   []*reader
	free      []sock // allocated, not yet used (see newSock)
	// diagOn is Config.SockDiag on a procfs Root; selfNS is the agent's
	// own network namespace; diags are the sock_diag sources by
	// namespace (see planDiag).
	diagOn     bool
	selfNS     uint64
	diags      map[uint64]*nsDiag
	warnedDiag atomic.Bool
	// addrsOn is set for a procfs Root: Addresses reads the namespaces'
	// interface addresses, kept in addrs.
	addrsOn bool
	addrs   addrsState
	// walks counts the fd/ walks, tableReads the socket tables read from
	// /proc/PID/net and diagReads those dumped over sock_diag (four per
	// namespace in all), tabStats the net/tcp stats of owners whose
	// ns/net is unreadable (see placeHidden); for tests and benchmarks.
	walks, tableReads, diagReads, tabStats atomic.Uint64
	// dumps counts the Collects that took their walks from one FDs dump,
	// dumped the walks so taken; dumpFailed is set once a failed dump
	// was logged.
	dumps, dumped atomic.Uint64
	dumpFailed    bool
	// chunksSkipped and chunksParsed count the chunks of the tables read
	// from /proc/PID/net that were as last read, and left alone, or were
	// parsed (see tableMemo); tablesKept the TCP tables not read because
	// the caller vouched that they did not change (see TCPUnchanged); for
	// tests and benchmarks.
	chunksSkipped, chunksParsed, tablesKept atomic.Uint64
	// partsReused counts the parts copied from the last report (see
	// markReuse); for tests and benchmarks.
	partsReused atomic.Uint64
	// recycled counts the reports written into an older one (Recycle).
	recycled atomic.Uint64
	// tcpUnchanged is set by TCPUnchanged for the next Collect; keepTCP
	// for the Collect running when it keeps the TCP tables.
	tcpUnchanged, keepTCP bool
	// young is how many sockets the last Collect held back because
	// they were first seen less than minLifetime ago.
	young int
	// unowned are the sockets seen in the tables with no known holder
	// since the last full Collect, each with the Collect that first saw it
	// so, or settled when every candidate owner was walked since (see
	// rewalk).
	unowned map[uint64]uint64
	// pending counts the sockets the last rewalk left fresh, their
	// candidates cut off by the bound: the next Collect walks more of them.
	pending int
	// rewalks keeps the buffers of rewalk's choice between Collects.
	rewalks rewalkPlan

	// holderChanges counts the changes to c.socks' holders (addHolder,
	// removeHolder), created and deleted the socks added to and removed
	// from it; sumKey keys sumRows; last is what the last Collect
	// returned, for reuse (see unchanged).
	holderChanges, created, deleted uint64
	sumKey                          uint64
	last                            lastCollect
	// memos are the socket tables as last read (see tableMemo), keyed
	// by a secret seed.
	memos    map[memoKey]*tableMemo
	memoSeed maphash.Seed
	// base is the time of the first Collect that reported: socks keep
	// their first-seen times as offsets from it (see sinceBase).
	base   time.Time
	reused atomic.Uint64
	// kept is what Collect returned last, ok once set.
	kept struct {
		socks []Socket
		ok    bool
	}
	// reported is the generation (gen32) of the last Collect that
	// reported, 0 before the first; lastOut is the []T it returned, whose
	// parts a later Collect copies where they stand (see markReuse).
	reported uint32
	lastOut  any
	// older is the report before lastOut, kept while a caller said which
	// reports it reads (held, see Recycle), for the next report to be
	// written into.
	older any
	held  func(report any) bool

	// Per-Collect scratch space, reused.
	jobs        []walkJob
	groups      []nsGroup
	nsGroup     map[uint64]int // NetNS to index in groups
	tabGroup    map[uint64]int // net/tcp inode to index in groups
	nsNext      []int
	nsLast      []int
	hidden      []hiddenOwner
	rows        []row // the join's, released by releaseJoin
	warnedWalk  bool
	warnedTable bool
}

// New returns a Collector for cfg. The logger is named "sockets".
func New(cfg Config, logger hclog.Logger) (*Collector, error) {
	if cfg.MinLifetime < 0 {
		return nil, fmt.Errorf("sockets: min lifetime %v is negative", cfg.MinLifetime)
	}
	if cfg.Root == "" {
		cfg.Root = "/proc"
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	c := &Collector{
		root:        cfg.Root,
		minLifetime: cfg.MinLifetime,
		logger:      logger.Named("sockets"),
		owners:      make(map[procid.Key]*ownerState),
		socks:       make(map[uint64]*sock),
		nsGroup:     make(map[uint64]int),
		tabGroup:    make(map[uint64]int),
		unowned:     make(map[uint64]uint64),
		diags:       make(map[uint64]*nsDiag),
		sumKey:      rand.Uint64() | 1,
		memos:       make(map[memoKey]*tableMemo),
		memoSeed:    maphash.MakeSeed(),
	}
	if isProcfs(cfg.Root) {
		c.addrsOn, c.selfNS = true, selfNetNS()
		c.diagOn = cfg.SockDiag
	}
	return c, nil
}

// Collect returns the sockets held by owners at now, sorted by NetNS, Proto,
// Local, Remote and Inode (the snapshot order). It walks the fd/ of the
// owners it has not seen before, or of all of them when full is true, then
// of known owners likely to hold a socket that appeared with no known
// holder (see the package documentation), and forgets owners not passed. Vanished processes are skipped; unreadable
// files are logged once and skipped. The only error is ctx's.
//
// The work runs on up to GOMAXPROCS goroutines in rounds: the socket
// tables of every namespace and the fd/ walks, all at once; then, per
// namespace and transport, the rows joined with their owners (again after
// walking known owners for new unowned sockets, if any); their roles and
// order; their first-seen times; then the Sockets.
//
// When nothing the Sockets depend on changed since the last Collect (see
// the package documentation), it returns the last Collect's slice again,
// which the Collector keeps for that.
func (c *Collector) Collect(ctx context.Context, now time.Time, owners []Owner, full bool) ([]Socket, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	socks, changed, err := collect(c, ctx, now, owners, full, c.kept.ok, copier)
	if err != nil {
		return nil, err
	}
	if changed {
		c.kept.socks, c.kept.ok = socks, true
	}
	return c.kept.socks, nil
}

// Recycle lets a Collect that reports anew write the sockets into the
// slice of the report before the last instead of a new one, when held,
// passed that report as Collect or CollectChangesAs returned it ([]Socket
// or []T), reports that the caller no longer reads it. On a host whose
// sockets change tick after tick, a report then allocates nothing, and
// the garbage collector has 100,000 sockets' report less to collect
// every tick. The Collector lets go of the older report after a Collect
// that found nothing changed: a host that went quiet does not keep two.
// held must not say true of a report once it said false (the caller
// hands on only newer reports). nil, the default, turns it off.
func (c *Collector) Recycle(held func(report any) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = held
	if held == nil {
		c.older = nil
	}
}

// Recycled returns how many reports were written into an older report's
// slice (see Recycle); for tests and benchmarks.
func (c *Collector) Recycled() uint64 { return c.recycled.Load() }

// copier makes the converter that reports a Socket as it is.
func copier() func(*Socket) Socket { return func(s *Socket) Socket { return *s } }

// CollectChanges is Collect for a caller that keeps the Sockets itself: it
// returns them and true, or nil and false when they would be the same as
// the last call returned. The Collector keeps the last slice it returned,
// not a copy, to copy from it the namespaces and transports where nothing
// changed: the caller must not change its elements (sorting them into the
// order they have changes nothing). Use either Collect or CollectChanges
// (or CollectChangesAs) with one Collector.
func (c *Collector) CollectChanges(ctx context.Context, now time.Time, owners []Owner, full bool) ([]Socket, bool, error) {
	return CollectChangesAs(c, ctx, now, owners, full, copier)
}

// CollectChangesAs is CollectChanges for a caller that keeps the sockets
// in its own form: each reported Socket is passed to a converter, which
// returns the element of the result, so that no list of Sockets is made
// on the way. newConv makes a converter for each run of sockets (in
// order) that one goroutine converts; converters run concurrently, each
// on its own goroutine, and must not keep the Socket they are passed. A
// converter's result must depend on the Socket alone: a later call copies
// it where the Socket would be the same.
func CollectChangesAs[T any](c *Collector, ctx context.Context, now time.Time, owners []Owner, full bool, newConv func() func(s *Socket) T) ([]T, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kept.socks, c.kept.ok = nil, false
	return collect(c, ctx, now, owners, full, true, newConv)
}

// collect is Collect, each socket reported as a converter of newConv makes
// it; reuse says that the caller has the last sockets, so that nil and
// false may be returned when nothing changed. Called with c.mu held.
func collect[T any](c *Collector, ctx context.Context, now time.Time, owners []Owner, full, reuse bool, newConv func() func(*Socket) T) ([]T, bool, error) {
	c.gen++
	if c.gen32() == 0 {
		c.gen++ // 0 is "never" to a sock
	}
	first := !c.collected
	c.keepTCP, c.tcpUnchanged = c.tcpUnchanged && !full, false

	c.plan(owners, full)
	for k, st := range c.owners {
		if st.gen != c.gen {
			c.setInodes(st, k.PID, st.inodes, nil)
			delete(c.owners, k)
		}
	}
	c.planDiag(full)
	err := c.gather(ctx, owners, full || !c.collected)
	if c.diagOn {
		c.closeUnusedDiag()
	}
	if err != nil {
		for _, j := range c.jobs {
			if j.new {
				delete(c.owners, j.key) // not walked: new again next time
			}
		}
		clear(c.jobs)
		return nil, false, err
	}
	c.applyWalks(c.jobs)
	clear(c.jobs) // drop references to owner states
	if reuse && c.unchanged(now, first) {
		c.releaseJoin() // a quiet host needs it no more; a busy one keeps it
		c.older = nil   // nor a second report
		return nil, false, nil
	}
	if full {
		clear(c.unowned) // everyone was walked: learn them afresh
	}
	c.join()
	created, deleted := c.created, c.deleted
	if walked, err := c.rewalk(ctx, owners); err != nil {
		c.releaseJoin()
		return nil, false, err
	} else if walked {
		c.rejoin(c.created != created, c.deleted != deleted)
		c.pending = c.freshRows() // those the walks did not find
	}
	prev, _ := c.lastOut.([]T)
	c.markReuse(now, prev != nil)
	c.order()
	for i := range c.groups {
		for t := range tables {
			if err := c.groups[i].tabs[t].err; err != nil && !c.warnedTable {
				c.warnedTable = true
				c.logger.Warn("cannot read socket table, its sockets are not reported", "error", err)
			}
		}
	}
	var starts map[int]time.Time
	if first {
		starts = make(map[int]time.Time, len(owners))
		for _, o := range owners {
			starts[o.PID] = o.StartTime
		}
	}
	if c.base.IsZero() {
		c.base = now
	}
	out := report(c, now, starts, prev, newConv) // takes c.older, if it can
	if c.held != nil {
		c.older = c.lastOut
	}
	c.lastOut, c.reported = out, c.gen32()
	c.remember(now)
	clear(c.rows) // drop references to sockets the next walk may forget
	if first {
		// The first Collect's join buffers would stay live while the
		// first and largest snapshot is encoded, the agent's peak; a later
		// Collect that changes anything makes them again.
		c.releaseJoin()
	}
	c.collected = true
	return out, true, nil
}

// TCPUnchanged tells the next Collect that no TCP socket of the host
// listened, connected, was accepted or closed since the last Collect that
// read the TCP tables (tcp, tcp6), as an event source that sees every TCP
// state change and lost none can vouch: the rows the tables would show
// (LISTEN and ESTABLISHED sockets with their addresses, uid and inode)
// are then those of that read. The next Collect, unless it is full, does
// not read the TCP tables of the namespaces whose last read was whole: it
// reads the UDP tables, walks the fd/ of the owners as usual, and joins
// the rows kept. A namespace read for the first time is read. Holders
// still come from the fd/ walks, so a socket a new process inherited is
// reported with it.
func (c *Collector) TCPUnchanged() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tcpUnchanged = true
}

// TablesKept returns how many TCP tables Collects did not read because
// of TCPUnchanged; for tests, benchmarks and the tick's statistics.
func (c *Collector) TablesKept() uint64 { return c.tablesKept.Load() }

// Young returns how many sockets of known owners the last Collect held
// back because they were first seen less than min-lifetime ago: a later
// Collect reports them without anything else changing.
func (c *Collector) Young() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.young
}

// freshRows counts the parts' fresh rows.
func (c *Collector) freshRows() int {
	n := 0
	for i := range c.groups {
		for t := range c.groups[i].parts {
			n += len(c.groups[i].parts[t].fresh)
		}
	}
	return n
}

// Pending returns how many new sockets without a known holder the last
// Collect left for later Collects to walk more of their candidate owners
// for (see rewalk): a later Collect may report them without anything else
// changing.
func (c *Collector) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending
}

// plan lists the owners to walk in c.jobs (the new ones, or all when full),
// marks every passed owner with this Collect's generation, and groups the
// owners whose NetNS is known by network namespace in c.groups, each
// group's owners chained through c.nsNext in the order passed. The owners
// whose NetNS is 0 go to c.hidden, for placeHidden.
func (c *Collector) plan(owners []Owner, full bool) {
	c.jobs = c.jobs[:0]
	if full || len(c.owners) == 0 {
		c.jobs = slices.Grow(c.jobs, len(owners)) // every owner is walked
	}
	c.hidden = c.hidden[:0]
	clear(c.nsGroup)
	c.groups = c.groups[:0] // the elements past the end keep their buffers
	c.nsNext = slices.Grow(c.nsNext[:0], len(owners))[:len(owners)]
	c.nsLast = c.nsLast[:0]
	for i, o := range owners {
		k := o.Key
		st := c.owners[k]
		if st == nil {
			st = &ownerState{walked: c.gen}
			c.owners[k] = st
			c.jobs = append(c.jobs, walkJob{key: k, st: st, new: true})
		} else if full && st.walked != c.gen {
			st.walked = c.gen
			c.jobs = append(c.jobs, walkJob{key: k, st: st})
		}
		st.gen = c.gen
		c.nsNext[i] = -1
		if o.NetNS == 0 {
			// Stat'ed when new, on a full Collect, or while unknown; once
			// per Collect even if passed twice.
			stat := st.tabAt != c.gen && (st.tab == 0 || full)
			if stat {
				st.tabAt = c.gen
			}
			c.hidden = append(c.hidden, hiddenOwner{i: i, st: st, stat: stat})
			continue
		}
		if g, ok := c.nsGroup[o.NetNS]; ok {
			c.chain(g, i)
			continue
		}
		c.nsGroup[o.NetNS] = c.newGroup(o.NetNS, 0, i)
	}
}

// newGroup adds a group of namespace ns (0 when unknown) whose net/tcp has
// inode tab (0 until known), with owner i as its head, reusing the
// buffers of an earlier Collect's group; it returns its index.
func (c *Collector) newGroup(ns, tab uint64, i int) int {
	n := len(c.groups)
	if n < cap(c.groups) {
		c.groups = c.groups[:n+1]
	} else {
		c.groups = append(c.groups, nsGroup{})
	}
	g := &c.groups[n]
	g.ns, g.tab, g.head, g.diag = ns, tab, i, nil
	for t := range g.parts {
		g.parts[t].dirty, g.parts[t].prev = 0, -1
	}
	c.nsLast = append(c.nsLast, i)
	return n
}

// chain appends owner i to the owners of group g.
func (c *Collector) chain(g, i int) {
	c.nsNext[c.nsLast[g]] = i
	c.nsLast[g] = i
}

// sortGroups puts the groups in the snapshot order, by namespace; the
// groups of unknown namespaces (ns 0) come first, ordered among themselves
// by the inode of their net/tcp and then by their head.
func (c *Collector) sortGroups() {
	slices.SortFunc(c.groups, func(a, b nsGroup) int {
		return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.tab, b.tab), cmp.Compare(a.head, b.head))
	})
}

// gather reads the socket tables of every group of a known namespace,
// stats the net/tcp of the hidden owners that need it and walks the fd/
// of every job, on up to GOMAXPROCS goroutines; the tables go first, so
// that the many small walks even out the end. When the walks come from a
// descriptor dump (dumpDue; all says the Collect walks every owner), the
// dump follows the tables, and the jobs then only check the owners it did
// not list. Then it places the hidden owners (placeHidden), reads the
// tables of the groups that this added, and sorts the groups. It returns
// ctx.Err() when cancelled.
func (c *Collector) gather(ctx context.Context, owners []Owner, all bool) error {
	nt, nh := len(c.groups)*len(tables), len(c.hidden)
	c.attachMemos(c.groups)
	n := nt + nh + len(c.jobs)
	dump := c.dumpDue(all)
	if dump {
		n = nt + nh // the walks come from a dump after the tables
	}
	c.parallel(n, func(r *reader, i int) bool {
		if ctx.Err() != nil {
			return false
		}
		switch {
		case i < nt:
			c.readGroupTable(r, &c.groups[i/len(tables)], i%len(tables), owners)
		case i < nt+nh:
			c.statHidden(r, &c.hidden[i-nt], owners)
		default:
			c.walkJob(r, &c.jobs[i-nt-nh])
		}
		return true
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if dump {
		// After the tables: a socket an owner opens while they are read
		// is in the dump when it is in a table, as a walk after a table's
		// read would find it.
		c.dumpWalks()
		c.parallel(len(c.jobs), func(r *reader, i int) bool {
			c.walkJob(r, &c.jobs[i])
			return ctx.Err() == nil
		})
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if nh > 0 {
		from := len(c.groups)
		c.placeHidden()
		if added := c.groups[from:]; len(added) > 0 {
			c.attachMemos(added)
			c.parallel(len(added)*len(tables), func(r *reader, i int) bool {
				if ctx.Err() != nil {
					return false
				}
				c.readGroupTable(r, &added[i/len(tables)], i%len(tables), owners)
				return true
			})
		}
	}
	c.sortGroups()
	c.dropMemos()
	return ctx.Err()
}

// walkJob walks the fd/ of j's owner with r, unless dumpWalks found its
// sockets: then it only tells an owner that holds none from one that
// vanished.
func (c *Collector) walkJob(r *reader, j *walkJob) {
	if j.dumped {
		if len(j.inodes) == 0 && !r.pidExists(j.key.PID) {
			j.err = fmt.Errorf("%s/%d: %w", c.root, j.key.PID, errVanished)
		}
		return
	}
	c.walks.Add(1)
	r.inodes, j.err = r.walk(r.inodes[:0], j.key.PID)
	if j.err == nil && len(r.inodes) > 0 {
		j.inodes = slices.Clone(r.inodes)
	}
}

// join lays out each part's segment of c.rows, as long as its
// tables' entries, joins every part (joinPart) in parallel, and marks the
// joined sockets (markJoined).
func (c *Collector) join() {
	off := 0
	for i := range c.groups {
		g := &c.groups[i]
		for t := range 2 {
			p := &g.parts[t]
			p.off = off
			for k := range tables {
				if tables[k].udp == (t == 1) {
					off += len(g.tabs[k].entries)
				}
			}
			p.end = off
		}
	}
	c.rows = slices.Grow(c.rows[:0], off)[:off]
	c.parallel(2*len(c.groups), func(_ *reader, u int) bool {
		g := &c.groups[u/2]
		c.joinPart(g, &g.parts[u%2], u%2 == 1)
		return true
	})
	c.markJoined()
}

// rejoin brings the join up to date after a rewalk's walks, which made
// sockets (created) or forgot some (deleted): it joins again the parts
// that have a row without a known holder, when sockets were made, and
// those with a joined row whose socket was forgotten, when some were; the
// others keep their rows, less the fresh ones the rewalk settled. Then it
// marks the joined sockets (markJoined), which counts those whose holders
// the walks changed as dirty.
func (c *Collector) rejoin(created, deleted bool) {
	c.parallel(2*len(c.groups), func(_ *reader, u int) bool {
		g, udp := &c.groups[u/2], u%2 == 1
		p := &g.parts[u%2]
		if (created && p.unowned > 0) || (deleted && c.forgotten(p)) {
			c.joinPart(g, p, udp)
		} else if len(p.fresh) > 0 {
			p.fresh = slices.DeleteFunc(p.fresh, func(f fresh) bool {
				since, seen := c.unowned[uint64(f.e.inode)]
				return seen && since == settled
			})
		}
		return true
	})
	c.markJoined()
}

// forgotten reports whether a joined row of p holds a socket that lost its
// last holder since the join.
func (c *Collector) forgotten(p *part) bool {
	for _, r := range c.rows[p.off : p.off+p.joined] {
		if r.sock.pids == nil {
			return true
		}
	}
	return false
}

// order decides the roles and sorts the rows of every part (orderPart) in
// parallel, but for the parts whose last report stands (see markReuse).
func (c *Collector) order() {
	c.parallel(2*len(c.groups), func(r *reader, u int) bool {
		if g := &c.groups[u/2]; g.parts[u%2].prev < 0 {
			c.orderPart(r, g, &g.parts[u%2])
		}
		return true
	})
}

// releaseJoin lets go of the join's rows (24 bytes a socket), which a
// Collect that finds nothing changed does not need: a quiet host's
// Collector keeps none, a busy one's reuses them from one Collect to the
// next.
func (c *Collector) releaseJoin() {
	c.rows = nil
	all := c.groups[:cap(c.groups)] // with the groups past the end
	for i := range all {
		for t := range all[i].parts {
			p := &all[i].parts[t]
			p.rows = nil
			clear(p.fresh)
			p.fresh = p.fresh[:0]
		}
	}
}

// report picks the joined rows of every part, then turns them into Sockets
// in the snapshot order; a part whose sockets are those of the last report
// (prev, see markReuse) claims them instead, first, and copies them from
// there. The groups of unknown namespaces (ns 0, owners whose ns/net was
// unreadable and whose net/tcp matched no known group) pick last, so that
// a socket one of them shares with a known namespace is reported there.
func report[T any](c *Collector, now time.Time, starts map[int]time.Time, prev []T, newConv func() func(*Socket) T) []T {
	zero := 0 // parts of the groups of ns 0, which sort first
	for zero/2 < len(c.groups) && c.groups[zero/2].ns == 0 {
		zero += 2
	}
	units := 2 * len(c.groups)
	c.parallel(units, func(r *reader, u int) bool {
		p := &c.groups[u/2].parts[u%2]
		switch {
		case p.prev < 0:
		case c.claim(p):
			c.partsReused.Add(1)
		default:
			p.prev = -1
			c.orderPart(r, &c.groups[u/2], p)
		}
		return true
	})
	for _, r := range [][2]int{{zero, units}, {0, zero}} {
		c.parallel(r[1]-r[0], func(_ *reader, i int) bool {
			u := r[0] + i
			if p := &c.groups[u/2].parts[u%2]; p.prev < 0 {
				c.pick(p, now, starts)
			}
			return true
		})
	}
	n := 0
	c.young = 0
	for i := range c.groups {
		for t := range 2 {
			p := &c.groups[i].parts[t]
			p.out = n
			n += p.reported()
			c.young += p.young
		}
	}
	out := reportSlice[T](c, n)
	first := 0 // the first part filled on its own
	if zero > 2 {
		// Several unknown namespaces share NetNS 0: each is sorted, not
		// their sockets together, which take the places of their parts
		// at the start of the report.
		first = zero
		conv, s := newConv(), new(Socket) // conv does not keep s
		for i, z := range c.sortZero(zero) {
			out[i] = conv(c.socket(s, z.g, &z.row))
		}
	}
	c.parallel(units-first, func(_ *reader, u int) bool {
		g := &c.groups[(first+u)/2]
		if p := &g.parts[(first+u)%2]; p.prev >= 0 {
			copy(out[p.out:p.out+p.size], prev[p.prev:])
		} else {
			conv, s := newConv(), new(Socket) // conv does not keep s
			for i := range p.rows {
				out[p.out+i] = conv(c.socket(s, g, &p.rows[i]))
			}
		}
		return true
	})
	return out
}

// reportSlice returns the slice a report of n sockets is written into,
// every element of which report sets: the report before the last, when
// the caller no longer reads it (see Recycle) and it has room, else a new
// slice, with a little room to spare when the caller recycles.
func reportSlice[T any](c *Collector, n int) []T {
	older, ok := c.older.([]T)
	c.older = nil
	switch {
	case c.held == nil:
		return make([]T, n)
	case !ok || cap(older) < n || c.held(older):
		return make([]T, n, n+n/32)
	}
	c.recycled.Add(1)
	clear(older[n:cap(older)]) // what the rows past n point to may go
	return older[:n]
}

// zeroRow is a row of a group of an unknown namespace, with its group.
type zeroRow struct {
	row
	g *nsGroup
}

// sortZero returns the reported rows of the first units parts, sorted
// together: those of the groups of unknown namespaces, which share NetNS 0.
func (c *Collector) sortZero(units int) []zeroRow {
	var all []zeroRow
	for u := range units {
		g := &c.groups[u/2]
		for _, r := range g.parts[u%2].rows {
			all = append(all, zeroRow{row: r, g: g})
		}
	}
	slices.SortFunc(all, func(a, b zeroRow) int { return compareRows(a.g, &a.row, b.g, &b.row) })
	return all
}

// parallel calls fn(r, i) for every i in [0, n), handing the indexes out in
// order to up to GOMAXPROCS goroutines, each with its own reader. A worker
// stops when fn returns false.
func (c *Collector) parallel(n int, fn func(r *reader, i int) bool) {
	workers := min(runtime.GOMAXPROCS(0), n)
	for len(c.readers) < workers {
		c.readers = append(c.readers, newReader(c.root))
	}
	var next atomic.Int64
	work := func(r *reader) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n || !fn(r, i) {
				return
			}
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		r := c.readers[w]
		wg.Go(func() { work(r) })
	}
	if workers > 0 {
		work(c.readers[0])
	}
	wg.Wait()
}

// oldest returns the earliest start time of pids, or now when none is known.
func oldest(pids []int, starts map[int]time.Time, now time.Time) time.Time {
	t := now
	for _, p := range pids {
		if s, ok := starts[p]; ok && s.Before(t) {
			t = s
		}
	}
	return t
}
