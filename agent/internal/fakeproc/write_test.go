package fakeproc

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeBasic(t *testing.T) (*Tree, string) {
	t.Helper()
	tree, err := Load(filepath.Join("..", "..", "..", "testdata", "proc", "basic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	return tree, dir
}

func TestWriteLayout(t *testing.T) {
	_, dir := writeBasic(t)
	files := []struct {
		name, path, want string
	}{
		{"btime", "stat", "\nbtime 1795645876\n"},
		{"argv with NULs", "813/cmdline", "python3\x00/srv/app/billing.py\x00--port\x008080\x00"},
		{"rewritten argv", "901/cmdline", "nginx: worker process"},
		{"kernel thread cmdline", "15/cmdline", ""},
		{"odd comm in stat", "950/stat", "950 (my (odd) ) prog) S 1 "},
		{"status uid", "812/status", "\nUid:\t1000\t1000\t1000\t1000\n"},
		{"environ", "812/environ", "HOME=/home/dev\x00TERM=xterm\x00"},
		{"cgroup default", "1/cgroup", "0::/\n"},
		{"shared net table", "901/net/tcp", "0100007F:1F90 0100007F:C738 01 "},
		{"other netns table", "2001/net/tcp", "00000000:18EB 00000000:0000 0A "},
		{"mapped v6", "813/net/tcp6", "0000000000000000FFFF00000500000A:A028"},
		{"proc net", "net/udp", "3500007F:0035"},
		{"host passwd through the root link", "813/root/etc/passwd", "\ndev:x:1000:1000:"},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, f.path))
			if err != nil {
				t.Fatal(err)
			}
			if f.want == "" && len(b) != 0 || !bytes.Contains(b, []byte(f.want)) {
				t.Errorf("%s = %q, want it to contain %q", f.path, b, f.want)
			}
		})
	}
	links := []struct {
		name, path, want string
	}{
		{"exe", "813/exe", "/usr/bin/python3.12"},
		{"netns", "2001/ns/net", "net:[4026532200]"},
		{"socket fd", "901/fd/6", "socket:[30005]"},
		{"pipe fd", "813/fd/0", "pipe:[5001]"},
		{"anon inode fd", "901/fd/9", "anon_inode:[eventfd]"},
		{"default root", "2001/root", "../.fakeproc/root/host"},
	}
	for _, l := range links {
		t.Run(l.name, func(t *testing.T) {
			got, err := os.Readlink(filepath.Join(dir, l.path))
			if err != nil || got != l.want {
				t.Errorf("readlink %s = %q, %v; want %q", l.path, got, err, l.want)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(dir, "15", "exe")); !os.IsNotExist(err) {
		t.Errorf("kernel thread has an exe link (err %v)", err)
	}
}

// TestWriteRoots writes processes in two roots: each root link leads to
// its own passwd, a root without one has no file, and naming a root the
// tree lacks is an error.
func TestWriteRoots(t *testing.T) {
	tree := &Tree{
		Roots: map[string]Root{HostRoot: {Passwd: HostPasswd}, "app": {Passwd: ContainerPasswd}, "distroless": {}},
		Procs: []Proc{{PID: 3, Comm: "h"}, {PID: 4, Comm: "c", Root: "app"}, {PID: 5, Comm: "d", Root: "distroless"}},
	}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	for pid, want := range map[string]string{"3": HostPasswd, "4": ContainerPasswd} {
		if b, err := os.ReadFile(filepath.Join(dir, pid, "root", "etc", "passwd")); err != nil || string(b) != want {
			t.Errorf("%s/root/etc/passwd = %q, %v; want %q", pid, b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "5", "root", "etc", "passwd")); !os.IsNotExist(err) {
		t.Errorf("distroless root has a passwd (err %v)", err)
	}
	host, err := os.Stat(filepath.Join(dir, "3", "root"))
	if err != nil {
		t.Fatal(err)
	}
	app, err := os.Stat(filepath.Join(dir, "4", "root"))
	if err != nil || !host.IsDir() || os.SameFile(host, app) {
		t.Errorf("roots of 3 and 4: %v, %v (err %v); want two directories", host, app, err)
	}
	bad := &Tree{Procs: []Proc{{PID: 6, Root: "nope"}}}
	if err := bad.Write(t.TempDir()); err == nil || !strings.Contains(err.Error(), `root "nope"`) {
		t.Errorf("Write with an unknown root = %v", err)
	}
}

// TestWriteOwnership checks that, written as root, /proc/PID and all in
// it belong to the process's uid and gid, as on procfs; written by anyone
// else, to the writer.
func TestWriteOwnership(t *testing.T) {
	_, dir := writeBasic(t)
	uid, gid := 1000, 1000 // pid 812 in basic.yaml
	if os.Geteuid() != 0 {
		uid, gid = os.Geteuid(), os.Getegid()
	}
	for _, path := range []string{"812", "812/stat", "812/status", "812/cmdline", "812/environ", "812/ns", "812/ns/net", "812/root", "812/fd"} {
		fi, err := os.Lstat(filepath.Join(dir, path))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != uid || int(st.Gid) != gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", path, st.Uid, st.Gid, uid, gid)
		}
	}
}

func TestWriteRejectsDuplicatePID(t *testing.T) {
	tree := &Tree{Procs: []Proc{{PID: 7, Comm: "a"}, {PID: 7, Comm: "b"}}}
	err := tree.Write(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "pid 7 listed twice") {
		t.Errorf("Write = %v, want a duplicate pid error", err)
	}
}

func TestRemoveAndRewrite(t *testing.T) {
	tree, dir := writeBasic(t)
	if err := tree.Remove(dir, 950); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "950")); !os.IsNotExist(err) {
		t.Errorf("950 still there: %v", err)
	}
	if err := tree.Remove(dir, 950); err == nil {
		t.Error("removing a missing pid gave no error")
	}
	p := Proc{PID: 950, PPID: 1, Comm: "sleep", StartTicks: 9000, Argv: []string{"sleep", "5"}}
	if err := tree.Rewrite(dir, p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "950", "stat"))
	if err != nil || !bytes.HasPrefix(b, []byte("950 (sleep) S 1 ")) {
		t.Errorf("rewritten stat = %q, %v", b, err)
	}
}

func TestDenyMode(t *testing.T) {
	tree := &Tree{Procs: []Proc{{PID: 3, Comm: "x", Argv: []string{"x"}, Deny: []string{"cgroup", "status"}}}}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"cgroup": 0, "status": 0, "stat": 0o444, "environ": 0o400} {
		fi, err := os.Stat(filepath.Join(dir, "3", name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
}

func TestAddSocket(t *testing.T) {
	tree := &Tree{Procs: []Proc{{PID: 10, FDs: []FD{{Num: 4, Target: "/dev/null"}}}, {PID: 11}}}
	e := SockEntry{State: TCPListen, Inode: 77}
	if !tree.AddSocket(HostNetNS, TCP6, e, 10, 11) {
		t.Fatal("AddSocket lost an owner")
	}
	if tree.AddSocket(HostNetNS, UDP, e, 12) {
		t.Error("AddSocket accepted a pid not in the tree")
	}
	if got := tree.Procs[0].FDs[1]; got != (FD{Num: 5, Target: "socket:[77]"}) {
		t.Errorf("fd = %+v", got)
	}
	if got := tree.Procs[1].FDs[0]; got != (FD{Num: 0, Target: "socket:[77]"}) {
		t.Errorf("fd = %+v", got)
	}
	if n := len(tree.NetNS[HostNetNS].TCP6); n != 1 {
		t.Errorf("tcp6 has %d rows, want 1", n)
	}
}
