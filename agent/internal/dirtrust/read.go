package dirtrust

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// ReadFile reads the file name in directory dir after CheckDir's checks of
// dir and these of the file:
//
//   - name is a relative path that stays in dir (no absolute name, no ..
//     escape); a symlink on the way is followed only if its target,
//     resolved, is inside dir, and every directory passed below dir is
//     checked as dir is;
//   - the file is a regular file (a FIFO, socket or device is refused
//     without being read, and is opened non-blocking if it appears in a
//     race), not writable by group or others, owned by someone p allows;
//   - it is at most maxBytes long by fstat before any byte is read, and
//     at most maxBytes+1 bytes are read, so a file growing meanwhile is
//     refused too.
//
// Every check is made on the open descriptor (openat with O_NOFOLLOW,
// then fstat), so the bytes returned are those of the file checked. The
// error is an *Error wrapping ErrRefused for a refusal, or the system's
// error (fs.ErrNotExist for a missing file, so a removed plugin can be
// told apart). Safe for concurrent use.
func ReadFile(dir, name string, maxBytes int64, p Policy) ([]byte, error) {
	path := filepath.Join(dir, name)
	if !filepath.IsLocal(name) {
		return nil, refuse(path, "not a name inside the directory (absolute, or leaving it with ..)")
	}
	dirfd, root, err := openDir(dir, p)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)

	target, err := filepath.EvalSymlinks(filepath.Join(root, name))
	if err != nil {
		return nil, failed(path, err)
	}
	rel, err := filepath.Rel(root, target)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, refuse(path, "a symlink to %s, outside the directory", target)
	}
	if rel == "." {
		return nil, refuse(path, "a symlink to the directory itself, not a regular file")
	}
	fd, err := walk(dirfd, dir, rel, path, p)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, failed(path, err)
	}
	if st.Size > maxBytes {
		return nil, refuse(path, "%d bytes, over the limit of %d", st.Size, maxBytes)
	}
	data, err := readAll(fd, st.Size, maxBytes)
	if errors.Is(err, errGrew) {
		return nil, refuse(path, "grew past the limit of %d bytes while being read", maxBytes)
	}
	if err != nil {
		return nil, failed(path, err)
	}
	return data, nil
}

// walk opens rel (a symlink-free path inside the directory open as dirfd)
// one component at a time with O_NOFOLLOW, checking each directory on the
// way and the final regular file with p, and returns the file's
// descriptor. A component replaced by a symlink since EvalSymlinks is
// refused, not followed. dir names the directory and path the file in
// messages.
func walk(dirfd int, dir, rel, path string, p Policy) (int, error) {
	parts := strings.Split(rel, string(filepath.Separator))
	fd := dirfd
	closeFD := func() {
		if fd != dirfd {
			_ = unix.Close(fd)
		}
	}
	for i, part := range parts {
		last := i == len(parts)-1
		at, want, flags := filepath.Join(dir, filepath.Join(parts[:i+1]...)), uint32(unix.S_IFDIR), unix.O_DIRECTORY
		if last {
			at, want, flags = path, unix.S_IFREG, 0
		}
		next, err := openChecked(fd, part, at, p, want, flags)
		closeFD()
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// openChecked opens name in dirfd if fstatat says it is of type want, and
// checks the open file with p. A file of another type is refused without
// being opened.
func openChecked(dirfd int, name, path string, p Policy, want uint32, flags int) (int, error) {
	var pre unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &pre, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return -1, failed(path, err)
	}
	if typ := pre.Mode & unix.S_IFMT; typ != want {
		return -1, refuse(path, "%s, not %s", kind(typ), kind(want))
	}
	fd, err := open(dirfd, name, flags)
	if err != nil {
		return -1, openFailed(path, err)
	}
	if err := checkOpen(fd, path, &pre, p, want); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// errGrew is readAll's report of a file longer than max.
var errGrew = errors.New("file grew past the limit")

// readAll reads fd to its end, expecting size bytes (the fstat size) and
// reading at most limit+1: more than limit bytes is errGrew.
func readAll(fd int, size, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(size, limit)+1) // +1: growth shows at once
	for {
		left := limit + 1 - int64(len(buf)) // bytes it may still read
		if left <= 0 {
			return nil, errGrew
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(int64(max(len(buf), 4096)), left)))
		}
		room := min(int64(cap(buf)-len(buf)), left)
		n, err := unix.Read(fd, buf[len(buf):len(buf)+int(room)])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return nil, err
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}
