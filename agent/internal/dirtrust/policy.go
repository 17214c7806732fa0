package dirtrust

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Policy says who may own a directory and the files in it. The zero value
// allows root only. It is a plain value, safe to share.
type Policy struct {
	// Owners are the uids, besides root (0), that may own the directory
	// and its files.
	Owners []int
	// AnyOwner allows every owner; the permission bits are still checked.
	AnyOwner bool
}

// allows reports whether uid may own a checked directory or file.
func (p Policy) allows(uid uint32) bool {
	if p.AnyOwner || uid == 0 {
		return true
	}
	return slices.ContainsFunc(p.Owners, func(o int) bool { return int64(o) == int64(uid) })
}

// owners lists the allowed uids for a message: "root (0)" or "one of 0, 1001".
func (p Policy) owners() string {
	list := []string{"0"}
	for _, o := range p.Owners {
		if s := strconv.Itoa(o); !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	if len(list) == 1 {
		return "root (0)"
	}
	return "one of " + strings.Join(list, ", ")
}

// ErrRefused is wrapped by every *Error that refuses a directory or file as
// unsafe (as opposed to one that could not be read, which wraps the
// system's error, such as fs.ErrNotExist). Test with errors.Is.
var ErrRefused = errors.New("refused as unsafe to load from")

// Error is why a directory or file was refused or could not be read.
type Error struct {
	// Path is the directory, or the directory joined with the name, as
	// the caller gave them.
	Path string
	// Msg says what is wrong, e.g. "writable by group or others (mode
	// 0666)".
	Msg string
	// Err is ErrRefused for a refusal, otherwise the underlying error.
	Err error
}

// Error formats the problem as "path: msg".
func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// Unwrap returns ErrRefused or the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func refuse(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...), Err: ErrRefused}
}

// failed wraps a system error, dropping the path an *os.PathError repeats.
func failed(path string, err error) *Error {
	msg := err.Error()
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		msg = pe.Err.Error()
	}
	return &Error{Path: path, Msg: msg, Err: err}
}

// check applies p and the permission rule to st, the fstat of an open
// directory or file at path; want is unix.S_IFDIR or unix.S_IFREG.
func (p Policy) check(path string, st *unix.Stat_t, want uint32) *Error {
	if typ := st.Mode & unix.S_IFMT; typ != want {
		return refuse(path, "%s, not %s", kind(typ), kind(want))
	}
	if st.Mode&0o022 != 0 {
		return refuse(path, "writable by group or others (mode %04o)", st.Mode&0o7777)
	}
	if !p.allows(st.Uid) {
		return refuse(path, "owned by uid %d, not %s", st.Uid, p.owners())
	}
	return nil
}

// kind names a file type for a message.
func kind(typ uint32) string {
	switch typ {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	}
	return fmt.Sprintf("a file of type %#o", typ)
}
