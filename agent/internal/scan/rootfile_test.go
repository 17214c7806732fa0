package scan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/childtest"
	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// syncBuffer is a log destination safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// warnings returns the JSON warnings logged so far.
func (s *syncBuffer) warnings(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["@level"] == "warn" {
			out = append(out, m)
		}
	}
	return out
}

// scanWithin runs s.Scan and fails the test if it does not return before
// a deadline: a scan blocked on a FIFO never would. The blocked goroutine
// is left behind then.
func scanWithin(t *testing.T, s *Scanner) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	type result struct {
		res *Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := s.Scan(ctx)
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.res
	case <-ctx.Done():
		t.Fatal("scan did not return: blocked reading a passwd file")
		return nil
	}
}

// refusedWarning returns the counts of the warning about passwd files
// among warnings, and how many such warnings there are.
func refusedWarning(warnings []map[string]any) (counts map[string]float64, n int) {
	counts = map[string]float64{}
	for _, w := range warnings {
		if w["@message"] != "passwd files in process roots refused or cut, user names from them may be missing (counts are roots)" {
			continue
		}
		n++
		for _, k := range refusedKeys {
			if v, ok := w[k].(float64); ok {
				counts[k] += v
			}
		}
	}
	return counts, n
}

// TestUsersHostileRoots scans a fake tree whose processes live in roots
// with hostile etc/passwd files: a FIFO nobody writes, a 2 GiB sparse
// file, symlinks to /dev/zero, to a FIFO and to a device inside the root
// and to a host file outside it. Every scan (all full) must return, read
// at most the cap of the large file, refuse what is not a regular file
// with one warning per cause, and name users only from files inside the
// process's own root.
func TestUsersHostileRoots(t *testing.T) {
	uid := os.Geteuid() // as root fakeproc chowns to Proc.UID; give it ours
	line := func(name string) string { return name + ":x:" + strconv.Itoa(uid) + ":0::/:/bin/sh\n" }
	dir := t.TempDir()
	hostFile := filepath.Join(dir, "host-secret")
	if err := os.WriteFile(hostFile, []byte(line("leak")), 0o644); err != nil {
		t.Fatal(err)
	}
	type extra struct {
		path string // inside the root
		kind string // "fifo", "zero" (the /dev/zero device) or "file"
	}
	tests := []struct {
		name  string
		root  fakeproc.Root
		extra []extra
		user  string
		cause string // refusedKeys entry counted, "" for none
		root0 bool   // needs root (mknod)
	}{
		{name: "plain", root: fakeproc.Root{Passwd: line("plain")}, user: "plain"},
		{name: "fifo", root: fakeproc.Root{PasswdFIFO: true}, cause: "not_regular"},
		{name: "2 GiB sparse file", root: fakeproc.Root{Passwd: line("sparse"), PasswdSizeBytes: 2 << 30}, user: "sparse", cause: "over_limit"},
		{name: "symlink to /dev/zero, absent from the root", root: fakeproc.Root{PasswdLink: "/dev/zero"}},
		{name: "symlink to /dev/zero inside the root", root: fakeproc.Root{PasswdLink: "/dev/zero"},
			extra: []extra{{"dev/zero", "zero"}}, cause: "not_regular", root0: true},
		{name: "symlink to a fifo inside the root", root: fakeproc.Root{PasswdLink: "/run/pipe"},
			extra: []extra{{"run/pipe", "fifo"}}, cause: "not_regular"},
		{name: "symlink to a host file is resolved in the root", root: fakeproc.Root{PasswdLink: hostFile}},
		{name: "dot-dot symlink stays in the root", root: fakeproc.Root{PasswdLink: "../../../../../../../../" + hostFile}},
		{name: "symlink to a file inside the root", root: fakeproc.Root{PasswdLink: "/usr/lib/passwd"},
			extra: []extra{{"usr/lib/passwd", "file"}}, user: "inroot"},
	}
	tree := &fakeproc.Tree{BootTime: 1795645876, Roots: map[string]fakeproc.Root{}}
	for i, tt := range tests {
		if tt.root0 && os.Geteuid() != 0 {
			continue
		}
		name := fmt.Sprintf("r%d", i)
		tree.Roots[name] = tt.root
		tree.Procs = append(tree.Procs, fakeproc.Proc{PID: 100 + i, Comm: "p", StartTicks: uint64(100 + i),
			Argv: []string{"p"}, UID: uid, Root: name})
	}
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		for _, x := range tt.extra {
			if tt.root0 && os.Geteuid() != 0 {
				continue
			}
			p := filepath.Join(dir, ".fakeproc", "root", fmt.Sprintf("r%d", i), x.path)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			var err error
			switch x.kind {
			case "fifo":
				err = unix.Mkfifo(p, 0o644)
			case "zero":
				err = unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5)))
			default:
				err = os.WriteFile(p, []byte(line("inroot")), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	logs := &syncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Output: logs, JSONFormat: true, Level: hclog.Warn})
	s, err := New(Config{Root: dir, FullRescanEvery: 1}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	for n := range 2 {
		read := s.users.read
		res := scanWithin(t, s)
		procs := byPID(res)
		for i, tt := range tests {
			if tt.root0 && os.Geteuid() != 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s, scan %d", tt.name, n), func(t *testing.T) {
				if p := procs[100+i]; p == nil || p.User != tt.user {
					t.Errorf("%+v, want user %q", p, tt.user)
				}
			})
		}
		if got := s.users.read - read; got > maxPasswdBytes+64<<10 {
			t.Errorf("scan %d read %d bytes of passwd files, want at most the %d of the cap and the small files", n, got, maxPasswdBytes)
		}
	}
	want := map[string]float64{}
	for _, tt := range tests {
		if tt.cause != "" && (!tt.root0 || os.Geteuid() == 0) {
			want[tt.cause]++
		}
	}
	counts, n := refusedWarning(logs.warnings(t))
	if n != 1 || fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("%d passwd warnings with counts %v, want one with %v", n, counts, want)
	}
}

// chrootEnv makes TestHelperChroot chroot into the directory it names.
const chrootEnv = "PROCTAG_SCAN_TEST_CHROOT"

// TestHelperChroot is the child of TestScanRealHostileRoot: it changes
// its root to $PROCTAG_SCAN_TEST_CHROOT, says READY and waits for its
// stdin to close.
func TestHelperChroot(t *testing.T) {
	dir := os.Getenv(chrootEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	if err := syscall.Chroot(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir("/"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	var b [1]byte
	_, _ = os.Stdin.Read(b[:])
}

// TestScanRealHostileRoot runs real processes chrooted into directories
// whose etc/passwd is a FIFO nobody writes, a symlink to the root's own
// /dev/zero (a real device node), or a 2 GiB sparse file, and scans this
// machine's /proc: the scan must return, leave the first two unnamed, and
// name the third from the first line within the cap.
func TestScanRealHostileRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chroot and to make a device node")
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, etc string)
		user  string
	}{
		{"fifo", func(t *testing.T, etc string) {
			if err := unix.Mkfifo(filepath.Join(etc, "passwd"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"symlink to /dev/zero", func(t *testing.T, etc string) {
			dev := filepath.Join(filepath.Dir(etc), "dev")
			if err := os.Mkdir(dev, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mknod(filepath.Join(dev, "zero"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/dev/zero", filepath.Join(etc, "passwd")); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"2 GiB sparse file", func(t *testing.T, etc string) {
			p := filepath.Join(etc, "passwd")
			if err := os.WriteFile(p, []byte("sparse:x:0:0::/:/bin/sh\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, 2<<30); err != nil {
				t.Fatal(err)
			}
		}, "sparse"},
	}
	type child struct {
		pid  int
		user string
	}
	var children []child
	for _, tt := range tests {
		dir := t.TempDir()
		etc := filepath.Join(dir, "etc")
		if err := os.Mkdir(etc, 0o755); err != nil {
			t.Fatal(err)
		}
		tt.setup(t, etc)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperChroot$")
		cmd.Env = append(os.Environ(), chrootEnv+"="+dir)
		cmd.Stderr = os.Stderr
		stdout, stdin, err := childtest.Start(t, cmd)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
		l, err := stdout.ReadString('\n')
		if err != nil || l != "READY\n" {
			t.Fatalf("%s: helper said %q, %v", tt.name, l, err)
		}
		children = append(children, child{cmd.Process.Pid, tt.user})
	}
	logs := &syncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Output: logs, JSONFormat: true, Level: hclog.Warn})
	s, err := New(Config{}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	procs := byPID(scanWithin(t, s))
	for i, c := range children {
		if p := procs[c.pid]; p == nil || p.User != c.user {
			t.Errorf("%s: %+v, want user %q", tests[i].name, p, c.user)
		}
	}
	if s.users.read > maxPasswdBytes+1<<20 {
		t.Errorf("read %d bytes of passwd files", s.users.read)
	}
	counts, n := refusedWarning(logs.warnings(t))
	if n != 1 || counts["not_regular"] < 2 || counts["over_limit"] < 1 {
		t.Errorf("%d passwd warnings with counts %v, want one with not_regular >= 2 and over_limit >= 1", n, counts)
	}
}
