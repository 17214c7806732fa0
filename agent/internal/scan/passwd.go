package scan

import (
	"bytes"
	"errors"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// rootKey identifies a process's root directory: the device and inode of
// a stat of /proc/PID/root (which follows the link). ok is false when the
// stat failed.
type rootKey struct {
	dev, ino uint64
	ok       bool
}

// statRoot stats PID/root relative to the procfs fd, following the link.
func statRoot(rootfd int, path []byte) (rootKey, error) {
	var st unix.Stat_t
	if err := fstatat(rootfd, path, &st, 0); err != nil {
		return rootKey{}, err
	}
	return rootKey{dev: st.Dev, ino: st.Ino, ok: true}, nil
}

// users names uids the way DeepFlow's agent does (linux_process.rs,
// get_all_process_in): from etc/passwd inside the process's root,
// /proc/PID/root/etc/passwd, parsed once per distinct root and cached. A
// uid with no entry there, or a root or passwd that cannot be read, has no
// name ("", as DeepFlow's set_username leaves it). DeepFlow keys its cache
// on the root's inode alone; users keys it on device and inode, so two
// roots on different filesystems with the same inode number (2 on ext4)
// do not share names. The cache is emptied by reset, on every full scan,
// as DeepFlow builds it anew on every call. It is used by one goroutine at
// a time.
type users struct {
	byRoot map[rootKey]map[int]string
	buf    []byte
	// refused counts, per cause, the passwd files refused or cut since
	// the last takeRefused; read is the bytes read from them, for tests.
	refused [numRefused]int
	read    int64
}

func newUsers() *users {
	return &users{byRoot: map[rootKey]map[int]string{}, buf: make([]byte, 0, 4096)}
}

// reset forgets every parsed passwd file.
func (u *users) reset() { clear(u.byRoot) }

// takeRefused returns the refusal counts and zeroes them.
func (u *users) takeRefused() [numRefused]int {
	r := u.refused
	u.refused = [numRefused]int{}
	return r
}

// name returns the name of uid in the passwd file of root, which is the
// root of process pid under the procfs fd rootfd.
func (u *users) name(rootfd, pid int, root rootKey, uid int) string {
	if !root.ok || uid < 0 {
		return ""
	}
	names, ok := u.byRoot[root]
	if !ok {
		names, ok = u.load(rootfd, pid, root)
		if !ok {
			return ""
		}
		u.byRoot[root] = names
	}
	return names[uid]
}

// load reads PID/root/etc/passwd with readRootFile: a FIFO, device or
// other non-regular file is refused, and only whole lines of the first
// maxPasswdBytes are used, each counted for the warning. ok is false when
// the process is gone (its root no longer is root), so that another
// process of the same root gets to read it; a root without a readable
// passwd file has no names.
func (u *users) load(rootfd, pid int, root rootKey) (map[int]string, bool) {
	b, truncated, err := readRootFile(rootfd, pid, root, "etc/passwd", u.buf, maxPasswdBytes)
	u.read += int64(len(b))
	if cap(b) > 64<<10 {
		u.buf = make([]byte, 0, 4096) // a large file's buffer is not kept
	} else {
		u.buf = b[:0]
	}
	switch {
	case errors.Is(err, errRootChanged):
		return nil, false
	case errors.Is(err, errNotRegular):
		u.refused[refusedNotRegular]++
		return nil, true
	case err != nil && vanished(err):
		var now rootKey
		now, err = statRoot(rootfd, appendPIDPath(nil, pid, "root"))
		if err != nil || now != root {
			return nil, false
		}
		return nil, true
	case err != nil:
		return nil, true
	case truncated:
		u.refused[refusedTruncated]++
		// Whole lines only: the cut may fall inside a line or a rune.
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			b = b[:i+1]
		} else {
			b = nil
		}
	}
	return parsePasswd(b), true
}

// parsePasswd reads passwd(5) lines as DeepFlow's PasswordInfo::new does
// (agent/crates/public/src/pwd.rs): the file must be UTF-8 (Rust's
// read_to_string, else it has no names); lines split on \n with a \r
// before it dropped (str::lines); a line with at least three ':' fields
// and a third field that parses as a u32 (an optional '+', decimal
// digits) maps that uid to the first field, even an empty one or one that
// starts with '#'; the first line of a uid wins (get_username_by_uid).
func parsePasswd(b []byte) map[int]string {
	if !utf8.Valid(b) {
		return nil
	}
	names := make(map[int]string)
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
			line = bytes.TrimSuffix(line, []byte{'\r'})
		} else {
			line, b = b, nil
		}
		f := bytes.SplitN(line, []byte{':'}, 4)
		if len(f) < 3 {
			continue
		}
		uid, ok := parseU32(f[2])
		if !ok {
			continue
		}
		if _, dup := names[uid]; !dup {
			names[uid] = string(f[0])
		}
	}
	return names
}

// parseU32 parses b as Rust's u32::from_str does: an optional '+', then
// one or more decimal digits (leading zeros allowed), at most 2^32-1.
func parseU32(b []byte) (int, bool) {
	if len(b) > 0 && b[0] == '+' {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > 1<<32-1 {
			return 0, false
		}
	}
	return int(v), true
}
