package scan

import (
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

func TestParsePasswd(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want map[int]string
	}{
		{"host file", fakeproc.HostPasswd, map[int]string{0: "root", 1: "daemon", 2: "bin", 3: "sys", 33: "www-data",
			65534: "nobody", 998: "systemd-network", 999: "systemd-coredump", 100: "messagebus", 101: "sshd", 1000: "dev"}},
		{"first line of a uid wins", "toor:x:0:0::/:/bin/sh\nroot:x:0:0::/:/bin/sh\n", map[int]string{0: "toor"}},
		{"three fields are enough", "a:x:7", map[int]string{7: "a"}},
		{"two fields are not", "a:7\n", map[int]string{}},
		{"crlf line ends", "a:x:7:7::/:/bin/sh\r\nb:x:8\r\n", map[int]string{7: "a", 8: "b"}},
		{"plus sign and leading zeros as Rust's u32 parse", "a:x:+7:\nb:x:0008:\n", map[int]string{7: "a", 8: "b"}},
		{"bad uids skipped", "a:x:-1:\nb:x:4294967296:\nc:x::\nd:x:+:\ne:x:1 :\nf:x:4294967295:\n", map[int]string{4294967295: "f"}},
		{"comment and empty names kept as DeepFlow keeps them", "#x:x:5:\n:x:6:\n", map[int]string{5: "#x", 6: ""}},
		{"no final newline", "a:x:1:1::/:/bin/sh", map[int]string{1: "a"}},
		{"empty file", "", map[int]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := parsePasswd([]byte(tc.in)); !maps.Equal(got, tc.want) {
				t.Errorf("parsePasswd = %v, want %v", got, tc.want)
			}
		})
	}
	if got := parsePasswd([]byte("a\xff:x:1:\n")); got != nil {
		t.Errorf("not UTF-8: %v, want no names (Rust's read_to_string fails)", got)
	}
}

func FuzzParsePasswd(f *testing.F) {
	f.Add([]byte(fakeproc.HostPasswd))          // a whole host file
	f.Add([]byte("a:x:+0007:\r\nb:x:1"))        // sign, zeros, CRLF, no final newline
	f.Add([]byte("a:x:4294967296:\n::\n\n:::")) // overflow, short and empty lines
	f.Add([]byte("\xff:x:1:"))                  // not UTF-8
	f.Fuzz(func(t *testing.T, b []byte) {
		for uid, name := range parsePasswd(b) {
			if uid < 0 || uid > 1<<32-1 {
				t.Fatalf("uid %d out of range", uid)
			}
			if len(name) > len(b) {
				t.Fatalf("name %q longer than the input", name)
			}
		}
	})
}

// TestUsersFromProcessRoot scans fake trees whose processes live in
// different roots: each process is named from its own root's passwd, as
// DeepFlow names it, and a root's passwd is read again on full scans only.
func TestUsersFromProcessRoot(t *testing.T) {
	proc := func(pid, uid int, root string) fakeproc.Proc {
		return fakeproc.Proc{PID: pid, Comm: "p", StartTicks: uint64(pid), Argv: []string{"p"}, UID: uid, Root: root}
	}
	roots := map[string]fakeproc.Root{
		fakeproc.HostRoot: {Passwd: fakeproc.HostPasswd},
		"node":            {Passwd: fakeproc.ContainerPasswd},
		"distroless":      {},
		"latin1":          {Passwd: "caf\xe9:x:1000:1000::/:/bin/sh\n"},
	}
	tree := &fakeproc.Tree{BootTime: 1795645876, Roots: roots, Procs: []fakeproc.Proc{
		proc(10, 1000, ""), proc(11, 1000, "node"), proc(12, 1000, "distroless"),
		proc(13, 4242, ""), proc(14, 1000, "latin1"), proc(15, 0, "node"),
	}}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	s := newScanner(t, Config{Root: dir, FullRescanEvery: 2})
	procs := byPID(scan(t, s))
	want := map[int]string{10: "dev", 11: "node", 12: "", 13: "", 14: "", 15: "root"}
	if os.Geteuid() != 0 {
		// Not root, fakeproc cannot chown: every process is owned by the
		// test's uid, named (or not) by each root's passwd.
		uid := os.Geteuid()
		host, ctr := parsePasswd([]byte(fakeproc.HostPasswd)), parsePasswd([]byte(fakeproc.ContainerPasswd))
		want = map[int]string{10: host[uid], 11: ctr[uid], 12: "", 13: host[uid], 14: "", 15: ctr[uid]}
	}
	for pid, user := range want {
		if p := procs[pid]; p == nil || p.User != user {
			t.Errorf("pid %d: %+v, want user %q", pid, p, user)
		}
	}

	// The node image gains a user for uid 1000 named otherwise: seen by
	// the next full scan (the third), not the steady one before it.
	passwd := filepath.Join(dir, ".fakeproc", "root", "node", "etc", "passwd")
	if err := os.WriteFile(passwd, []byte("app:x:"+strconv.Itoa(procs[11].UID)+":\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := byPID(scan(t, s))[11]; p != procs[11] {
		t.Errorf("steady scan rebuilt pid 11: %+v", p)
	}
	res := scan(t, s)
	if p := byPID(res)[11]; !res.Full || p.User != "app" || p.Rev != 3 {
		t.Errorf("full scan after the passwd change: full %v, pid 11 %+v; want user app at rev 3", res.Full, p)
	}
	if p := byPID(res)[10]; p != procs[10] {
		t.Errorf("full scan rebuilt pid 10 of an unchanged root: %+v", p)
	}
}
