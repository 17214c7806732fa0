//go:build linux

package fditer

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDumpOPathSocketFile holds an O_PATH descriptor of a Unix socket's
// file in the file system (as systemd does to connect to long paths):
// /proc/self/fd shows it as the path, not as socket:[N], so a walk does
// not take it for a socket; the dump must not either.
func TestDumpOPathSocketFile(t *testing.T) {
	it := open(t)
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	link, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	got, _ := dumpOf(t, it, os.Getpid())
	want := procFD(t, os.Getpid())
	if !slices.Equal(got, want) {
		t.Errorf("the iterator gives sockets %v, /proc/self/fd %v; the extra is the file system inode %d of %s (fd %d -> %q)",
			got, want, st.Ino, path, fd, link)
	}
}
