package fakeproc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteHiddenNetNS: a process with HideNetNS has no ns/net link, and
// its net/ is the same files as its namespace's other processes, as
// procfs shows the tables of one namespace under every pid in it.
func TestWriteHiddenNetNS(t *testing.T) {
	tree := &Tree{BootTime: 1, NetNS: map[uint64]NetTables{HostNetNS: {}}, Procs: []Proc{
		{PID: 1, Argv: []string{"init"}, NetNS: HostNetNS, HideNetNS: true},
		{PID: 7, Argv: []string{"sh"}, NetNS: HostNetNS},
	}}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Readlink(filepath.Join(dir, "1", "ns", "net")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("readlink 1/ns/net: %v, want not exist", err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "7", "ns", "net")); err != nil || l != "net:[4026531840]" {
		t.Errorf("readlink 7/ns/net = %q, %v", l, err)
	}
	for _, name := range []string{"tcp", "tcp6", "udp", "udp6"} {
		a, err := os.Stat(filepath.Join(dir, "1", "net", name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.Stat(filepath.Join(dir, "7", "net", name))
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(a, b) {
			t.Errorf("1/net/%s and 7/net/%s are different files", name, name)
		}
	}
}

// TestWriteHostilePasswd lays out each hostile etc/passwd and checks what
// an lstat of it shows.
func TestWriteHostilePasswd(t *testing.T) {
	tests := []struct {
		name string
		root Root
		mode fs.FileMode // type bits
		size int64       // for regular files
		link string
	}{
		{name: "fifo", root: Root{PasswdFIFO: true}, mode: fs.ModeNamedPipe},
		{name: "symlink to /dev/zero", root: Root{PasswdLink: "/dev/zero"}, mode: fs.ModeSymlink, link: "/dev/zero"},
		{name: "2 GiB sparse file", root: Root{Passwd: "root:x:0:0::/:/bin/sh\n", PasswdSizeBytes: 2 << 30}, size: 2 << 30},
		{name: "plain file", root: Root{Passwd: "root:x:0:0::/:/bin/sh\n"}, size: 22},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := &Tree{BootTime: 1, Roots: map[string]Root{"c": tt.root},
				Procs: []Proc{{PID: 5, Argv: []string{"x"}, Root: "c"}}}
			dir := t.TempDir()
			// Written twice: a second layout replaces the first in place.
			for range 2 {
				if err := tree.Write(dir); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, "5", "root", "etc", "passwd")
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != tt.mode {
				t.Errorf("type %v, want %v", fi.Mode().Type(), tt.mode)
			}
			if tt.mode == 0 {
				if fi.Size() != tt.size {
					t.Errorf("size %d, want %d", fi.Size(), tt.size)
				}
				if blocks := fi.Sys().(*syscall.Stat_t).Blocks; blocks*512 > 1<<20 {
					t.Errorf("%d blocks allocated, want a sparse file", blocks)
				}
			}
			if tt.link != "" {
				if l, err := os.Readlink(path); err != nil || l != tt.link {
					t.Errorf("readlink = %q, %v", l, err)
				}
			}
		})
	}
	bad := &Tree{BootTime: 1, Roots: map[string]Root{"c": {PasswdFIFO: true, PasswdLink: "/dev/zero"}}}
	if err := bad.Write(t.TempDir()); err == nil {
		t.Error("a root with both passwd-fifo and passwd-link was written")
	}
}
