package scan

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw file access of the hot path: openat/read/close and readlinkat
// relative to a directory fd, on NUL-terminated paths held in reused
// buffers, so that reading a file allocates nothing. DESIGN.md: for 10k
// processes this costs the same in Go as in C.

// openAt opens the NUL-terminated path relative to dirfd for reading.
func openAt(dirfd int, path []byte) (int, error) {
	for {
		fd, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
			unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0, 0, 0)
		switch e {
		case 0:
			return int(fd), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}

// readAt reads the whole file at path (relative to dirfd) into buf[:0],
// growing it when the file is larger, and returns the content.
func readAt(dirfd int, path, buf []byte) ([]byte, error) {
	fd, err := openAt(dirfd, path)
	if err != nil {
		return buf[:0], err
	}
	defer unix.Close(fd)
	return preadAll(fd, buf)
}

// preadAll reads the file fd from offset 0 into buf[:0], growing it when
// the file is larger. A read that does not fill the buffer is taken as the
// whole file: it is for regular files, and for proc files (seq_file and
// cmdline reads hand out everything that fits), which saves the read that
// would return 0. Reading from offset 0 makes a kept proc fd show the
// current content every time.
func preadAll(fd int, buf []byte) ([]byte, error) {
	n := 0
	buf = buf[:cap(buf)]
	for {
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf)+512)...)
			buf = buf[:cap(buf)]
		}
		m, err := unix.Pread(fd, buf[n:], int64(n))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return buf[:0], err
		}
		n += m
		if m == 0 || n < len(buf) {
			return buf[:n], nil
		}
	}
}

// readlinkAt returns the target of the symlink at path (relative to dirfd)
// in buf.
func readlinkAt(dirfd int, path, buf []byte) ([]byte, error) {
	buf = buf[:cap(buf)]
	for {
		n, _, e := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			return buf[:0], e
		case int(n) < len(buf):
			return buf[:n], nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// listPIDs appends the numeric entries of the directory dirfd to pids,
// using buf for getdents64 records.
func listPIDs(dirfd int, buf []byte, pids []int) ([]int, error) {
	if _, err := unix.Seek(dirfd, 0, 0); err != nil {
		return pids, err
	}
	for {
		n, err := unix.Getdents(dirfd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return pids, err
		}
		if n <= 0 {
			return pids, nil
		}
		// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
		for off := 0; off+19 < n; {
			reclen := int(*(*uint16)(unsafe.Pointer(&buf[off+16])))
			if reclen == 0 {
				break
			}
			name := buf[off+19 : off+reclen]
			if pid, ok := direntPID(name); ok {
				pids = append(pids, pid)
			}
			off += reclen
		}
	}
}

// direntPID parses a NUL-terminated dirent name that is a positive pid.
func direntPID(name []byte) (int, bool) {
	v := 0
	for i, c := range name {
		if c == 0 {
			return v, i > 0 && v > 0
		}
		if c < '0' || c > '9' || i > 9 {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return 0, false
}
