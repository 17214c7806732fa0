package scan

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// chunkPIDs is how many pids a worker scans before it takes the next
// chunk.
const chunkPIDs = 256

// parallelMinPIDs is the pid count from which a scan uses more than one
// worker by default; below it a second goroutine costs more than it saves.
const parallelMinPIDs = 1000

// Config tunes a Scanner. The zero value scans /proc, every scan a full
// one, with the default number of workers.
type Config struct {
	// Root is the procfs directory (os-proc-root); "" means /proc.
	Root string
	// FullRescanEvery is the number of regular scans from one full
	// re-read of cmdline, exe, the owner, the root, cgroup and ns/net for
	// every process, and of the passwd files of every root, to the next:
	// the FullRescanEvery-th regular scan after a full one is full again.
	// 0 and 1 make every scan full, a negative value none after the first
	// (only new processes are read). SetFullRescanEvery changes it. The
	// agent's value is the config's full-rescan-every, or
	// events-full-rescan-every while event sources vouch for the host.
	FullRescanEvery int
	// Workers is the number of goroutines reading /proc during one scan; 0
	// means 2 when there are at least 1,000 pids and GOMAXPROCS allows,
	// else 1.
	Workers int
}

// Scanner reads processes from a procfs tree and keeps the per-process
// cache between scans. Scan is not safe for concurrent calls; a Scanner
// is meant to be owned by the one goroutine that runs the tick loop.
type Scanner struct {
	cfg    Config
	logger hclog.Logger
	users  *users
	texts  *texts

	bootTime time.Time
	scanNo   uint64
	// sinceFull counts the regular scans (not extra, see NextExtra) and
	// Skips since the last successful full scan, for FullRescanEvery;
	// nextFull and nextExtra apply to the next Scan.
	sinceFull           int
	nextFull, nextExtra bool
	// reread are the pids whose cached fields the next Scan reads again
	// (see Reread).
	reread map[int]struct{}
	// c holds the cached entries and their kept fds; it is apart from
	// the Scanner so that a cleanup can close the fds of a Scanner that
	// was dropped without Close.
	c       *cache
	workers []*worker
	pids    []int
	dirBuf  []byte
	result  []*Process

	// early reads new processes between scans (see Early).
	early *Early

	warned        [numKinds]bool
	badStatWarned bool
	refusedWarned [numRefused]bool
}

// entry is the cache of one process: its published value and the raw
// inputs the full re-read compares against.
type entry struct {
	proc    *Process
	cmdline string // raw cmdline file content (see texts)
	cgroup  string // raw cgroup file content (see texts)
	root    rootKey
	// fd is the kept open PID/stat, or -1. It moves to the entry that
	// replaces this one for the same process and is closed when the
	// process is dropped.
	fd int
}

// cache is the state kept between scans. prev are the entries of the last
// successful scan, sorted by pid; next is the reused slice the current
// scan fills.
type cache struct {
	prev, next []*entry
	fds        *fdBudget
}

// closeAll closes the kept fds and empties the cache.
func (c *cache) closeAll() {
	for _, e := range c.prev {
		if e.fd >= 0 {
			_ = unix.Close(e.fd)
		}
	}
	c.fds.open.Store(0)
	clear(c.prev)
	c.prev = c.prev[:0]
}

// fdBudget bounds the stat fds kept open across scans. Keeping them makes
// a steady tick one pread per process instead of openat+read+close: a
// kept procfs fd reads the current stat, and fails with ESRCH once its
// process is gone, even if the pid was reused.
type fdBudget struct {
	limit int64
	open  atomic.Int64
}

// take reserves one fd; false when the budget is spent.
func (b *fdBudget) take() bool {
	if b.open.Add(1) > b.limit {
		b.open.Add(-1)
		return false
	}
	return true
}

// newFDBudget allows three quarters of the soft RLIMIT_NOFILE, leaving at
// least 4,096 fds to the rest of the agent (Go raises the soft limit to
// the hard one at start-up), and none when the limit is small: then every
// tick opens and closes each stat file.
func newFDBudget() *fdBudget {
	var rl unix.Rlimit
	b := &fdBudget{}
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 8192 {
		b.limit = int64(min(rl.Cur-4096, rl.Cur/4*3, 1<<22))
	}
	return b
}

// New returns a Scanner of cfg.Root. It fails when the root has no
// readable stat file with a btime line (not a procfs).
func New(cfg Config, logger hclog.Logger) (*Scanner, error) {
	if cfg.Root == "" {
		cfg.Root = "/proc"
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	s := &Scanner{
		cfg:    cfg,
		logger: logger.Named("scan"),
		users:  newUsers(),
		texts:  newTexts(),
		dirBuf: make([]byte, 32<<10),
		c:      &cache{fds: newFDBudget()},
	}
	runtime.AddCleanup(s, (*cache).closeAll, s.c)
	boot, err := readBootTime(cfg.Root)
	if err != nil {
		return nil, err
	}
	s.bootTime = boot
	s.early = newEarly(cfg.Root, boot, s.texts)
	return s, nil
}

// readBootTime reads the btime line of ROOT/stat (man 5 proc).
func readBootTime(root string) (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(root, "stat"))
	if err != nil {
		return time.Time{}, fmt.Errorf("read boot time: %w", err)
	}
	i := bytes.Index(b, []byte("\nbtime "))
	if i < 0 {
		return time.Time{}, fmt.Errorf("read boot time: %s has no btime line", filepath.Join(root, "stat"))
	}
	v := b[i+len("\nbtime "):]
	if end := bytes.IndexByte(v, '\n'); end >= 0 {
		v = v[:end]
	}
	sec, ok := atoi(v)
	if !ok {
		return time.Time{}, fmt.Errorf("read boot time: bad btime %q", v)
	}
	return time.Unix(sec, 0), nil
}

// NextFull makes the next Scan a full one, as after lost process events:
// every process's cached fields are read again. Like any full scan, it
// restarts the count of FullRescanEvery.
func (s *Scanner) NextFull() { s.nextFull = true }

// NextExtra marks the next Scan as one out of the interval's rhythm (woken
// by process events): it does not count toward FullRescanEvery, so that
// events do not make full re-reads more frequent.
func (s *Scanner) NextExtra() { s.nextExtra = true }

// SetFullRescanEvery changes FullRescanEvery to n from the next Scan or
// Skip on. The count of regular scans since the last full one is kept: the
// next regular scan is full when it is the n-th or a later one since, so a
// shorter period may make it full at once, and a longer one postpones it. The agent switches
// between full-rescan-every and events-full-rescan-every as its event
// sources become healthy or not.
func (s *Scanner) SetFullRescanEvery(n int) { s.cfg.FullRescanEvery = n }

// FullRescanEvery returns the period Scan and Skip use now.
func (s *Scanner) FullRescanEvery() int { return s.cfg.FullRescanEvery }

// Reread makes the next Scan read the cached fields of process pid again
// (cmdline, exe, the owner, the root, cgroup, ns/net), as a full scan
// does for every process: for a process that called execve or changed
// its uid, which its stat does not show. A pid not in the cache is read
// anyway when the Scan finds it. The marks last until a Scan succeeds.
func (s *Scanner) Reread(pid int) {
	if s.reread == nil {
		s.reread = make(map[int]struct{})
	}
	s.reread[pid] = struct{}{}
}

// fullDue reports whether the next regular scan is full by
// FullRescanEvery.
func (s *Scanner) fullDue() bool {
	every := s.cfg.FullRescanEvery
	return every == 0 || (every > 0 && s.sinceFull+1 >= every)
}

// Skip counts a scan that the caller did without reading /proc, because
// event sources reported no change: it counts toward FullRescanEvery like
// a regular Scan. It returns false, and counts nothing, when the next
// Scan must read: the first one, one made full by NextFull, the one
// FullRescanEvery makes full, or one with processes to read again
// (Reread).
func (s *Scanner) Skip() bool {
	if s.scanNo == 0 || s.nextFull || len(s.reread) > 0 || s.fullDue() {
		return false
	}
	s.sinceFull++
	s.nextExtra = false
	return true
}

// Scan reads every process once. It is not safe for concurrent calls.
// Processes that vanish during the scan are left out; a cancelled ctx
// returns its error and leaves the cache as the last successful scan left
// it. The returned Result is the caller's.
func (s *Scanner) Scan(ctx context.Context) (*Result, error) {
	s.scanNo++
	regular := !s.nextExtra
	full := s.scanNo == 1 || s.nextFull || s.cfg.FullRescanEvery == 0 || (regular && s.fullDue())
	// A failed scan keeps nextFull, so that the full read it owed is the
	// next one's, and the count of FullRescanEvery.
	s.nextExtra = false
	res := &Result{Time: time.Now(), Full: full}
	if full && s.scanNo > 1 {
		if boot, err := readBootTime(s.cfg.Root); err == nil {
			s.bootTime = boot
		}
	}
	res.BootTime = s.bootTime
	if full {
		s.users.reset()
		s.texts.reset()
	}

	rootfd, err := unix.Open(s.cfg.Root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", s.cfg.Root, err)
	}
	defer unix.Close(rootfd)
	s.pids, err = listPIDs(rootfd, s.dirBuf, s.pids[:0])
	if err != nil {
		return nil, fmt.Errorf("scan %s: list pids: %w", s.cfg.Root, err)
	}
	if !slices.IsSorted(s.pids) {
		slices.Sort(s.pids)
	}

	// The pids are cut in chunks handed out in order to the workers, so
	// that one slow range does not keep the others waiting.
	ws := s.split(len(s.pids))
	chunks := (len(s.pids) + chunkPIDs - 1) / chunkPIDs
	var next atomic.Int64
	work := func(w *worker) {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks || w.err != nil {
				return
			}
			lo, hi := c*chunkPIDs, min((c+1)*chunkPIDs, len(s.pids))
			w.run(ctx, c, s.pids[lo:hi], s.prevRange(c, chunks, lo, hi))
		}
	}
	var wg sync.WaitGroup
	for k, w := range ws {
		w.reset(rootfd, s.scanNo, full, s.bootTime)
		w.fds, w.reread, w.texts = s.c.fds, s.reread, s.texts
		if k > 0 {
			wg.Go(func() { work(w) })
		}
	}
	work(ws[0])
	wg.Wait()

	for _, w := range ws {
		if w.err != nil {
			s.rollback(ws)
			return nil, fmt.Errorf("scan %s: %w", s.cfg.Root, w.err)
		}
	}
	var missing [numKinds]int
	badStat := 0
	s.merge(ws, chunks, res)
	for _, w := range ws {
		s.closeFDs(w.closeFDs)
		for k := range missing {
			missing[k] += w.missing[k]
		}
		badStat += w.badStat
	}
	s.fillUsers(rootfd, full)
	s.c.prev, s.c.next = s.c.next, s.c.prev
	res.Processes = make([]*Process, len(s.c.prev))
	for i, e := range s.c.prev {
		res.Processes[i] = e.proc
	}
	s.addExited(rootfd, res)
	s.warn(missing, badStat)
	s.warnRefused(s.users.takeRefused())
	clear(s.reread)
	switch {
	case full:
		s.sinceFull = 0
		s.nextFull = false
	case regular:
		s.sinceFull++
	}
	return res, nil
}

// merge puts the workers' entries in s.c.next and their added and removed
// keys in res, in chunk order, which is pid order.
func (s *Scanner) merge(ws []*worker, chunks int, res *Result) {
	type part struct {
		w *worker
		i int // index in w.spans
	}
	parts := make([]part, chunks)
	for _, w := range ws {
		for i, sp := range w.spans {
			parts[sp.chunk] = part{w, i}
		}
	}
	s.c.next = s.c.next[:0]
	for _, p := range parts {
		w, sp := p.w, p.w.spans[p.i]
		end := span{out: len(w.out), added: len(w.added), removed: len(w.removed)}
		if p.i+1 < len(w.spans) {
			end = w.spans[p.i+1]
		}
		s.c.next = append(s.c.next, w.out[sp.out:end.out]...)
		res.Added = append(res.Added, w.added[sp.added:end.added]...)
		res.Removed = append(res.Removed, w.removed[sp.removed:end.removed]...)
	}
}

// rollback closes the fds a failed scan opened; the cache keeps the last
// successful scan's entries and fds.
func (s *Scanner) rollback(ws []*worker) {
	for _, w := range ws {
		s.closeFDs(w.opened)
	}
}

func (s *Scanner) closeFDs(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
	s.c.fds.open.Add(-int64(len(fds)))
}

// Close releases the stat fds the Scanner keeps open between scans and
// empties its cache; a later Scan starts cold. A Scanner dropped without
// Close releases them when it is garbage collected. Not safe to call
// concurrently with Scan.
func (s *Scanner) Close() error {
	s.c.closeAll()
	// Without this, s is unreachable once s.c is loaded, and its cleanup
	// may run closeAll on the same cache concurrently.
	runtime.KeepAlive(s)
	return nil
}

// split returns the workers for n pids.
func (s *Scanner) split(n int) []*worker {
	k := s.cfg.Workers
	if k <= 0 {
		k = 1
		if n >= parallelMinPIDs && runtime.GOMAXPROCS(0) >= 2 {
			k = 2
		}
	}
	k = max(1, min(k, n/64))
	for len(s.workers) < k {
		s.workers = append(s.workers, newWorker())
	}
	return s.workers[:k]
}

// prevRange returns the cached entries chunk k of n compares against: the
// ones whose pid falls in its range of s.pids[lo:hi], the first chunk
// taking everything below and the last everything above.
func (s *Scanner) prevRange(k, n, lo, hi int) []*entry {
	from, to := 0, len(s.c.prev)
	if k > 0 && lo < len(s.pids) {
		from = sort.Search(len(s.c.prev), func(i int) bool { return s.c.prev[i].proc.PID >= s.pids[lo] })
	}
	if k < n-1 && hi < len(s.pids) {
		to = sort.Search(len(s.c.prev), func(i int) bool { return s.c.prev[i].proc.PID >= s.pids[hi] })
	}
	return s.c.prev[from:to]
}

// fillUsers names the uids of processes built in this scan (workers leave
// User empty so that the passwd cache has one writer), and of every
// process on a full scan, when the passwd files were read again.
func (s *Scanner) fillUsers(rootfd int, all bool) {
	for i, e := range s.c.next {
		p := e.proc
		// Built in this scan and not yet published: named in place.
		fresh := p.Rev == s.scanNo
		if !fresh && !all {
			continue
		}
		name := s.users.name(rootfd, p.PID, e.root, p.UID)
		if name == p.User {
			continue
		}
		if !fresh {
			cp := *p
			cp.Rev = s.scanNo
			p = &cp
			s.c.next[i] = &entry{proc: p, cmdline: e.cmdline, cgroup: e.cgroup, root: e.root, fd: e.fd}
		}
		p.User = name
	}
}

// warnRefused logs, once per cause for the Scanner's lifetime, the passwd
// files in process roots that were refused or cut, and for how many roots.
func (s *Scanner) warnRefused(refused [numRefused]int) {
	var args []any
	for k, n := range refused {
		if n > 0 && !s.refusedWarned[k] {
			s.refusedWarned[k] = true
			args = append(args, refusedKeys[k], n)
		}
	}
	if len(args) > 0 {
		args = append(args, "limit_bytes", maxPasswdBytes)
		s.logger.Warn("passwd files in process roots refused or cut, user names from them may be missing (counts are roots)", args...)
	}
}

// warn logs, once per kind for the Scanner's lifetime, what could not be
// read and for how many processes.
func (s *Scanner) warn(missing [numKinds]int, badStat int) {
	var args []any
	for k, n := range missing {
		if n > 0 && !s.warned[k] {
			s.warned[k] = true
			args = append(args, kindNames[k], n)
		}
	}
	if len(args) > 0 {
		if privileged() {
			// With the capabilities (or as root), what stays unreadable is
			// the kernel's choice (e.g. a VM's init, or a process in
			// another user namespace).
			args = append(args, "hint", "some processes deny even a privileged agent (another user namespace, a sandboxed init)")
		} else {
			args = append(args, "hint", "run as root or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH")
		}
		s.logger.Warn("process files unreadable, their fields are left empty (counts are processes)", args...)
	}
	if badStat > 0 && !s.badStatWarned {
		s.badStatWarned = true
		s.logger.Warn("malformed stat files, processes skipped", "processes", badStat)
	}
}
