package dirtrust

import (
	"errors"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CheckDir checks the directory at path: the path may be a symlink, which
// is resolved once (filepath.EvalSymlinks); its target must be a directory
// that neither group nor others may write to (mode&0o022 == 0) and whose
// owner p allows. The error is an *Error wrapping ErrRefused for a
// refusal, or the system's error (fs.ErrNotExist, ...).
func CheckDir(path string, p Policy) error {
	fd, _, err := openDir(path, p)
	if err != nil {
		return err
	}
	_ = unix.Close(fd)
	return nil
}

// openDir resolves path, opens it without following a symlink that
// appeared since, and checks the open directory with p. It returns the
// descriptor, which the caller closes, and the resolved path.
func openDir(path string, p Policy) (int, string, error) {
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return -1, "", failed(path, err)
	}
	var pre unix.Stat_t
	if err := unix.Lstat(resolved, &pre); err != nil {
		return -1, "", failed(path, err)
	}
	if pre.Mode&unix.S_IFMT != unix.S_IFDIR {
		return -1, "", refuse(path, "%s, not a directory", kind(pre.Mode&unix.S_IFMT))
	}
	fd, err := open(unix.AT_FDCWD, resolved, unix.O_DIRECTORY)
	if err != nil {
		return -1, "", openFailed(path, err)
	}
	if err := checkOpen(fd, path, &pre, p, unix.S_IFDIR); err != nil {
		_ = unix.Close(fd)
		return -1, "", err
	}
	return fd, resolved, nil
}

// open opens name relative to dirfd read-only, never following a symlink
// in its last component, never blocking (a FIFO or device opens at once)
// and never becoming a controlling terminal.
func open(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY|flags, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

// openFailed explains an open error: ELOOP or ENOTDIR mean the name was
// replaced by a symlink or another kind of file since it was checked.
func openFailed(path string, err error) *Error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return refuse(path, "changed while being opened (%v)", err)
	}
	return failed(path, err)
}

// checkOpen fstats fd, makes sure it is the file pre (an fstatat or lstat
// of the name before it was opened) described, and checks it with p.
func checkOpen(fd int, path string, pre *unix.Stat_t, p Policy, want uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return failed(path, err)
	}
	if st.Dev != pre.Dev || st.Ino != pre.Ino {
		return refuse(path, "changed while being opened (another file took its name)")
	}
	if err := p.check(path, &st, want); err != nil {
		return err
	}
	return nil
}
