package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTableInodes reads the inode column of a socket table in the
// kernel's format, with rows cut across reads by a small buffer.
func TestTableInodes(t *testing.T) {
	dir := t.TempDir()
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0\n" +
		"   1: 0100007F:A0B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 20 4 30 10 -1\n"
	if err := os.WriteFile(filepath.Join(dir, "tcp"), []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, size := range []int{7, 64, 4096} {
		got := tableInodes(fd, "tcp", make([]byte, size), nil)
		if !slices.Equal(got, []uint64{31337, 4242}) {
			t.Errorf("buffer %d: inodes %v", size, got)
		}
	}
	if got := tableInodes(fd, "missing", make([]byte, 64), nil); got != nil {
		t.Errorf("missing table: %v", got)
	}
}
