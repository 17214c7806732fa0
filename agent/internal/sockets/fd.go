package sockets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/procid"
)

// reader reads one process's fd/ directory or one socket table at a time
// into buffers it reuses, so that neither allocates unless its result
// grows. A reader serves one goroutine at a time; a Collect runs one per
// worker.
type reader struct {
	root string
	// procfs is set when root is a procfs mount, whose fd/ directories
	// hand out every entry that fits in one getdents64 (see walk).
	procfs bool
	dirs   []byte
	link   []byte
	path   []byte
	buf    []byte // socket table chunks
	// inodes is scratch space for walk.
	inodes []uint64
	// listeners is scratch space for roles.
	listeners []int
	// ino is the inode of the last table readTable opened, 0 if its
	// fstat failed; size its size as fstat gave it (0 on procfs, which
	// does not know it before it is read).
	ino  uint64
	size int64
}

// maxLine is the longest line readTable reads (and its buffer's size).
const maxLine = 64 << 10

func newReader(root string) *reader {
	return &reader{root: root, procfs: isProcfs(root), dirs: make([]byte, 16<<10), link: make([]byte, 64)}
}

// isProcfs reports whether dir is on a procfs mount.
func isProcfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

// maxFDDirent is the largest linux_dirent64 of an fd/ entry: 19 bytes of
// header, a name of at most 10 digits and its NUL, rounded up to 8.
const maxFDDirent = 32

// errVanished marks a process or file that went away: not an error for the
// caller, only a reason to skip.
var errVanished = errors.New("vanished")

// setPath sets r.path to ROOT/PID/rel, NUL-terminated for the system
// calls; rel is "" for the PID directory itself.
func (r *reader) setPath(pid int, rel string) {
	r.path = append(r.path[:0], r.root...)
	r.path = append(r.path, '/')
	r.path = strconv.AppendInt(r.path, int64(pid), 10)
	if rel != "" {
		r.path = append(r.path, '/')
		r.path = append(r.path, rel...)
	}
	r.path = append(r.path, 0)
}

// name returns r.path without its NUL, for error messages.
func (r *reader) name() []byte { return r.path[:len(r.path)-1] }

// walk appends the inodes of the sockets that pid holds to dst, sorted and
// without duplicates (a socket dup'ed to several fds counts once), by
// reading the links in /proc/PID/fd (proc(5): a socket's link reads
// `socket:[inode]`): the directory with getdents64 and each link with
// readlinkat relative to it. A process that vanished gives an error
// wrapping errVanished.
func (r *reader) walk(dst []uint64, pid int) ([]uint64, error) {
	r.setPath(pid, "fd")
	dir, err := openFile(r.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return dst, classify(fmt.Errorf("open %s: %w", r.name(), err))
	}
	defer unix.Close(dir)
	start := len(dst)
	for {
		n, err := unix.Getdents(dir, r.dirs)
		if err != nil {
			return dst[:start], classify(fmt.Errorf("read %s: %w", r.name(), err))
		}
		if n <= 0 {
			break
		}
		dst = r.scanDirents(dst, dir, r.dirs[:n])
		// procfs fills the buffer until an entry does not fit or no fd is
		// left (fs/proc/fd.c, proc_readfd_common): room left for the
		// largest entry means the end, and saves the call that would
		// return 0.
		if r.procfs && n+maxFDDirent <= len(r.dirs) {
			break
		}
	}
	s := dst[start:]
	slices.Sort(s)
	return dst[:start+len(slices.Compact(s))], nil
}

// scanDirents reads the link of every entry in buf (struct linux_dirent64:
// u64 ino, s64 off, u16 reclen, u8 type, NUL-terminated name) and appends the
// socket inodes. Links that vanished meanwhile (a closed fd) are skipped.
func (r *reader) scanDirents(dst []uint64, dir int, buf []byte) []uint64 {
	for len(buf) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < 19 || reclen > len(buf) {
			break
		}
		name := buf[19:reclen]
		buf = buf[reclen:]
		if name[0] == '.' {
			continue
		}
		n, err := readlinkat(dir, name, r.link)
		if err != nil {
			continue
		}
		if ino, ok := parseSocketLink(r.link[:n]); ok {
			dst = append(dst, ino)
		}
	}
	return dst
}

// readTable reads ROOT/PID/net/NAME of tab in chunks through r.buf and
// calls fn for each row (see parseLines), so that a table of any size needs
// only a buffer of its longest line. A read or parse error names the file;
// a missing file or process gives an error wrapping errVanished.
func (r *reader) readTable(pid int, tab *table, fn func(r *parsedRow)) error {
	return r.readTableMemo(pid, tab, nil, fn)
}

// readTableMemo is readTable that, with mr, leaves alone the chunks of the
// file that mr says are as last read (see memoRead.skip): fn is not
// called for their rows.
func (r *reader) readTableMemo(pid int, tab *table, mr *memoRead, fn func(r *parsedRow)) error {
	r.setPath(pid, "net/"+tab.name)
	fd, err := openFile(r.path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return classify(fmt.Errorf("open %s: %w", r.name(), err))
	}
	defer unix.Close(fd)
	r.ino, r.size = 0, 0
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		r.ino, r.size = st.Ino, st.Size
	}
	if len(r.buf) == 0 {
		r.buf = make([]byte, maxLine)
	}
	n, line := 0, 0
	for {
		m, err := unix.Read(fd, r.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return classify(fmt.Errorf("read %s: %w", r.name(), err))
		}
		n += m
		end := n // at the end of the file, the rest is the last line
		if m > 0 {
			end = bytes.LastIndexByte(r.buf[:n], '\n') + 1
			if end == 0 {
				if n == len(r.buf) { // a line longer than the buffer
					if len(r.buf) >= maxLine {
						// No row of a socket table is a fraction of this
						// long: the file is not one, and is not read into
						// memory.
						return fmt.Errorf("parse %s: line %d: %w: longer than %d bytes", r.name(), line+1, errRow, maxLine)
					}
					r.buf = append(r.buf, make([]byte, min(len(r.buf), maxLine-len(r.buf)))...)
				}
				continue
			}
		}
		if mr == nil || !mr.skip(r.buf[:end], &line) {
			if line, err = parseLines(r.buf[:end], tab.v6, line, fn); err != nil {
				return fmt.Errorf("parse %s: %w", r.name(), err)
			}
			if mr != nil {
				mr.parsedChunk(line)
			}
		}
		if m == 0 {
			return nil
		}
		n = copy(r.buf, r.buf[end:n])
	}
}

// tcpInode returns the inode of ROOT/PID/net/tcp without opening the
// table (an O_PATH open and fstat, which allocate nothing). A missing file
// or process gives an error wrapping errVanished.
func (r *reader) tcpInode(pid int) (uint64, error) {
	r.setPath(pid, "net/tcp")
	fd, err := openFile(r.path, unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return 0, classify(fmt.Errorf("open %s: %w", r.name(), err))
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, classify(fmt.Errorf("stat %s: %w", r.name(), err))
	}
	return st.Ino, nil
}

// pidExists reports whether ROOT/PID still exists.
func (r *reader) pidExists(pid int) bool {
	r.setPath(pid, "")
	fd, err := openFile(r.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// parseSocketLink parses the target of an fd link, `socket:[12345]`.
func parseSocketLink(b []byte) (uint64, bool) {
	const prefix = "socket:["
	if len(b) < len(prefix)+2 || string(b[:len(prefix)]) != prefix || b[len(b)-1] != ']' {
		return 0, false
	}
	return parseDec(b[len(prefix) : len(b)-1])
}

// openFile opens the NUL-terminated path without copying it.
func openFile(path []byte, flags int) (int, error) {
	cwd := unix.AT_FDCWD
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(cwd),
			uintptr(unsafe.Pointer(&path[0])), uintptr(flags), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(fd), nil
	}
}

// readlinkat reads the link name (NUL-terminated, as in a dirent) relative
// to dir into buf. It calls the system call directly so that the name needs
// no copy, and raw: an fd link of procfs is made from the task's file table
// without I/O or sleeping, so the scheduler need not hear of each of the
// 100,000 calls of a cold scan (about 10 ms of CPU on 10k processes).
func readlinkat(dir int, name, buf []byte) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_READLINKAT, uintptr(dir),
		uintptr(unsafe.Pointer(&name[0])), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// classify wraps err with errVanished when it says the process is gone.
func classify(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("%w: %w", errVanished, err)
	}
	return err
}

// minDumpWalks is how many fd/ walks a Collect that does not walk every
// owner must have queued for it to take them from one FDs dump: a dump
// reads every descriptor of the host, which costs more than a few walks.
const minDumpWalks = 64

// dumpDue reports whether the queued walks are to come from one dump of
// c.fds: when they are all the owners' (all: a full or first Collect) or
// there are enough of them (minDumpWalks).
func (c *Collector) dumpDue(all bool) bool {
	return c.fds != nil && len(c.jobs) > 0 && (all || len(c.jobs) >= minDumpWalks)
}

// dumpWalks takes the sockets of the queued walks from one dump of c.fds:
// each job gets the inodes the dump gives its owner's pid with its start
// time (another process that took the pid is not the owner), and is
// marked dumped, so that walkJob does not read its fd/. A failed dump
// leaves the jobs to their walks, and is logged once.
func (c *Collector) dumpWalks() {
	byKey := make(map[procid.Key]*walkJob, len(c.jobs))
	for i := range c.jobs {
		byKey[c.jobs[i].key] = &c.jobs[i]
	}
	err := c.fds.Dump(func(pid int, start, inode uint64) {
		if j := byKey[procid.Key{PID: pid, StartTicks: start}]; j != nil {
			j.inodes = append(j.inodes, inode)
		}
	})
	if err != nil {
		for i := range c.jobs {
			c.jobs[i].inodes = nil
		}
		if !c.dumpFailed {
			c.dumpFailed = true
			c.logger.Warn("the socket descriptor dump failed; fd/ directories are walked instead (logged once)", "error", err)
		}
		return
	}
	for i := range c.jobs {
		j := &c.jobs[i]
		slices.Sort(j.inodes)
		j.inodes, j.dumped = slices.Clip(slices.Compact(j.inodes)), true
	}
	c.dumps.Add(1)
	c.dumped.Add(uint64(len(c.jobs)))
}
