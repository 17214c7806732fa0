package sockets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdWalker lists the socket inodes a process holds by reading the links in
// /proc/PID/fd (proc(5): a socket's link reads `socket:[inode]`). It reads
// the directory with getdents64 and each link with readlinkat relative to
// the directory, into buffers it reuses, so a walk allocates only when its
// result grows. An fdWalker serves one goroutine at a time.
type fdWalker struct {
	root string
	dirs []byte
	link []byte
	path []byte
}

func newFDWalker(root string) *fdWalker {
	return &fdWalker{root: root, dirs: make([]byte, 16<<10), link: make([]byte, 64)}
}

// errVanished marks a process or file that went away: not an error for the
// caller, only a reason to skip.
var errVanished = errors.New("vanished")

// walk appends the inodes of the sockets that pid holds to dst, sorted and
// without duplicates (a socket dup'ed to several fds counts once). A process
// that vanished gives an error wrapping errVanished.
func (w *fdWalker) walk(dst []uint64, pid int) ([]uint64, error) {
	w.path = append(w.path[:0], w.root...)
	w.path = append(w.path, '/')
	w.path = strconv.AppendInt(w.path, int64(pid), 10)
	w.path = append(w.path, "/fd"...)
	w.path = append(w.path, 0)
	dir, err := openDir(w.path)
	if err != nil {
		return dst, classify(fmt.Errorf("open %s: %w", w.path[:len(w.path)-1], err))
	}
	defer unix.Close(dir)
	start := len(dst)
	for {
		n, err := unix.Getdents(dir, w.dirs)
		if err != nil {
			return dst[:start], classify(fmt.Errorf("read %s: %w", w.path[:len(w.path)-1], err))
		}
		if n <= 0 {
			break
		}
		dst = w.scanDirents(dst, dir, w.dirs[:n])
	}
	s := dst[start:]
	slices.Sort(s)
	return dst[:start+len(slices.Compact(s))], nil
}

// scanDirents reads the link of every entry in buf (struct linux_dirent64:
// u64 ino, s64 off, u16 reclen, u8 type, NUL-terminated name) and appends the
// socket inodes. Links that vanished meanwhile (a closed fd) are skipped.
func (w *fdWalker) scanDirents(dst []uint64, dir int, buf []byte) []uint64 {
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
		n, err := readlinkat(dir, name, w.link)
		if err != nil {
			continue
		}
		if ino, ok := parseSocketLink(w.link[:n]); ok {
			dst = append(dst, ino)
		}
	}
	return dst
}

// parseSocketLink parses the target of an fd link, `socket:[12345]`.
func parseSocketLink(b []byte) (uint64, bool) {
	const prefix = "socket:["
	if len(b) < len(prefix)+2 || string(b[:len(prefix)]) != prefix || b[len(b)-1] != ']' {
		return 0, false
	}
	return parseDec(b[len(prefix) : len(b)-1])
}

// openDir opens the NUL-terminated path as a directory.
func openDir(path []byte) (int, error) {
	return openFile(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
}

// readlinkat reads the link name (NUL-terminated, as in a dirent) relative
// to dir into buf. It calls the system call directly so that the name needs
// no copy.
func readlinkat(dir int, name, buf []byte) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dir),
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
