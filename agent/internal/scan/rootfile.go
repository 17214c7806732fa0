package scan

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// A process's root directory is its own: anyone who can chroot, pivot_root
// or mount in a user namespace decides what /proc/PID/root/etc/passwd is.
// A blocking open of a FIFO there never returns; a device such as
// /dev/zero or a sparse file of gigabytes never ends; opening a device can
// act on it (a watchdog); an absolute symlink such as /var/lib/x/passwd is
// resolved from the agent's root, not the process's, and would make the
// agent read a host file. readRootFile reads such a file without any of
// that.

// maxPasswdBytes caps what is read of a passwd file: a real one with
// tens of thousands of users fits; only whole lines of the first
// maxPasswdBytes are used of a larger one.
const maxPasswdBytes = 1 << 20

// Why a file in a process's root was refused or cut, for the one warning
// per cause.
const (
	refusedNotRegular = iota // a FIFO, device, socket or directory
	refusedTruncated         // larger than the cap; only the first part is used
	numRefused
)

// refusedKeys are the log keys of the causes.
var refusedKeys = [numRefused]string{"not_regular", "over_limit"}

// errNotRegular is readRootFile's refusal of a FIFO, device, socket or
// directory; errRootChanged says that PID/root is no longer the root it
// was (the process exited and the pid was reused).
var (
	errNotRegular  = errors.New("not a regular file")
	errRootChanged = errors.New("root changed")
)

// readRootFile reads name (relative, e.g. "etc/passwd") inside the root
// directory of process pid (PID/root under the procfs fd rootfd, which
// must still be root), at most max bytes of it into buf[:0]; truncated
// reports that the file is longer. The file is looked up as the process
// sees it: openat2 with RESOLVE_IN_ROOT, so that symlinks and .. stay in
// its root, and RESOLVE_NO_MAGICLINKS (on kernels before 5.6, a plain
// openat that follows no symlink in the last component). It is first
// opened O_PATH, which opens no device; anything but a regular file is
// refused with errNotRegular; the regular file is then reopened through
// /proc/self/fd, O_NONBLOCK, which is the same inode whatever the process
// changes meanwhile. Nothing blocks on a FIFO and nothing reads more than
// max+1 bytes. A file on a network or FUSE file system that never answers
// still blocks the read; the process's own root is not checked for that.
func readRootFile(rootfd, pid int, root rootKey, name string, buf []byte, max int) (b []byte, truncated bool, err error) {
	dir, err := unix.Openat(rootfd, strconv.Itoa(pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return buf[:0], false, err
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if err := unix.Fstat(dir, &st); err != nil {
		return buf[:0], false, err
	}
	if st.Dev != root.dev || st.Ino != root.ino {
		return buf[:0], false, errRootChanged
	}
	path, err := openInRoot(dir, name)
	if err != nil {
		return buf[:0], false, err
	}
	defer unix.Close(path)
	if err := unix.Fstat(path, &st); err != nil {
		return buf[:0], false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return buf[:0], false, fmt.Errorf("%s: %w", fileType(st.Mode), errNotRegular)
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(path), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return buf[:0], false, err
	}
	defer unix.Close(fd)
	b, err = preadMax(fd, buf, max+1)
	if err != nil {
		return b, false, err
	}
	if len(b) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

// openInRoot opens name relative to the root directory dir with O_PATH,
// resolving it as a process whose root dir is would.
func openInRoot(dir int, name string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(dir, name, &how)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN: // EAGAIN: a rename raced the lookup
			continue
		case err == unix.ENOSYS:
			return unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		return fd, err
	}
}

// preadMax reads fd from offset 0 into buf[:0], at most limit bytes.
func preadMax(fd int, buf []byte, limit int) ([]byte, error) {
	n := 0
	buf = buf[:cap(buf)]
	for n < limit {
		if n == len(buf) {
			buf = append(buf, make([]byte, min(len(buf)+512, limit-n))...)
			buf = buf[:cap(buf)]
		}
		m, err := unix.Pread(fd, buf[n:min(len(buf), limit)], int64(n))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return buf[:0], err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// fileType names the type in a stat mode, for messages.
func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	}
	return "unknown type"
}
