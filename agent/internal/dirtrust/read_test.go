package dirtrust

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// tenant is the policy of most tests: uid 1001 (and root) may own files.
var tenant = Policy{Owners: []int{1001}}

// tree is a test directory: files are written with mode 0644 unless a
// step changes them.
type tree struct {
	t    *testing.T
	dir  string // the plugin directory
	out  string // a directory outside it
	data []byte // content of every file written
}

func newTree(t *testing.T) *tree {
	t.Helper()
	dir, out := filepath.Join(t.TempDir(), "plugins"), t.TempDir()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &tree{t: t, dir: dir, out: out, data: []byte("\x00asm\x01\x00\x00\x00")}
}

func (tr *tree) file(path string, mode os.FileMode) string {
	tr.t.Helper()
	if err := os.WriteFile(path, tr.data, 0o600); err != nil {
		tr.t.Fatal(err)
	}
	tr.chmod(path, mode)
	return path
}

func (tr *tree) chmod(path string, mode os.FileMode) {
	tr.t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) chown(path string, uid int) {
	tr.t.Helper()
	if os.Geteuid() != 0 {
		tr.t.Skip("changing a file's owner needs root")
	}
	if err := os.Lchown(path, uid, uid); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) mkdir(path string, mode os.FileMode) {
	tr.t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		tr.t.Fatal(err)
	}
	tr.chmod(path, mode)
}

func (tr *tree) symlink(target, path string) {
	tr.t.Helper()
	if err := os.Symlink(target, path); err != nil {
		tr.t.Fatal(err)
	}
}

func TestReadFile(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(tr *tree) // builds x.wasm (or another name) in tr.dir
		file   string         // name to read; "" = x.wasm
		policy *Policy        // nil = tenant
		max    int64          // 0 = 1 MiB
		want   string         // error after "<dir>/<file>: ", with {out} and {dir} replaced; "" = reads tr.data
	}{
		{name: "regular file", setup: func(tr *tree) { tr.file(tr.dir+"/x.wasm", 0o644) }},
		{name: "owner-only file", setup: func(tr *tree) { tr.file(tr.dir+"/x.wasm", 0o400) }},
		{name: "owned by a listed uid", setup: func(tr *tree) { tr.chown(tr.file(tr.dir+"/x.wasm", 0o644), 1001) }},
		{name: "any owner allowed", policy: &Policy{AnyOwner: true}, setup: func(tr *tree) { tr.chown(tr.file(tr.dir+"/x.wasm", 0o644), 4242) }},
		{name: "exactly the limit", max: 8, setup: func(tr *tree) { tr.file(tr.dir+"/x.wasm", 0o644) }},
		{name: "relative symlink inside", setup: func(tr *tree) {
			tr.file(tr.dir+"/x-v2.wasm", 0o644)
			tr.symlink("x-v2.wasm", tr.dir+"/x.wasm")
		}},
		{name: "absolute symlink inside", setup: func(tr *tree) {
			tr.file(tr.dir+"/x-v2.wasm", 0o644)
			tr.symlink(tr.dir+"/x-v2.wasm", tr.dir+"/x.wasm")
		}},
		{name: "symlink into a subdirectory", setup: func(tr *tree) {
			tr.mkdir(tr.dir+"/build", 0o755)
			tr.file(tr.dir+"/build/x.wasm", 0o644)
			tr.symlink("build/x.wasm", tr.dir+"/x.wasm")
		}},
		{name: "name in a subdirectory", file: "build/x.wasm", setup: func(tr *tree) {
			tr.mkdir(tr.dir+"/build", 0o755)
			tr.file(tr.dir+"/build/x.wasm", 0o644)
		}},

		{name: "symlink to a file outside", want: "a symlink to {out}/passwd, outside the directory", setup: func(tr *tree) {
			tr.symlink(tr.file(tr.out+"/passwd", 0o644), tr.dir+"/x.wasm")
		}},
		{name: "relative symlink leaving with ..", want: "a symlink to {out}/passwd, outside the directory", setup: func(tr *tree) {
			tr.file(tr.out+"/passwd", 0o644)
			rel, _ := filepath.Rel(tr.dir, tr.out+"/passwd")
			tr.symlink(rel, tr.dir+"/x.wasm")
		}},
		{name: "symlink to the directory itself", want: "a symlink to the directory itself, not a regular file", setup: func(tr *tree) {
			tr.symlink(".", tr.dir+"/x.wasm")
		}},
		{name: "subdirectory symlinked outside", file: "build/x.wasm", want: "a symlink to {out}/x.wasm, outside the directory", setup: func(tr *tree) {
			tr.file(tr.out+"/x.wasm", 0o644)
			tr.symlink(tr.out, tr.dir+"/build")
		}},
		{name: "name leaving with ..", file: "../x.wasm", want: "not a name inside the directory (absolute, or leaving it with ..)", setup: func(*tree) {}},
		{name: "absolute name", file: "/etc/passwd", want: "not a name inside the directory (absolute, or leaving it with ..)", setup: func(*tree) {}},
		{name: "FIFO", want: "a FIFO, not a regular file", setup: func(tr *tree) {
			if err := syscall.Mkfifo(tr.dir+"/x.wasm", 0o644); err != nil {
				tr.t.Fatal(err)
			}
		}},
		{name: "symlink to a FIFO inside", want: "a FIFO, not a regular file", setup: func(tr *tree) {
			if err := syscall.Mkfifo(tr.dir+"/fifo", 0o644); err != nil {
				tr.t.Fatal(err)
			}
			tr.symlink("fifo", tr.dir+"/x.wasm")
		}},
		{name: "directory", want: "a directory, not a regular file", setup: func(tr *tree) { tr.mkdir(tr.dir+"/x.wasm", 0o755) }},
		{name: "writable by group", want: "writable by group or others (mode 0664)", setup: func(tr *tree) { tr.file(tr.dir+"/x.wasm", 0o664) }},
		{name: "writable by others", want: "writable by group or others (mode 0666)", setup: func(tr *tree) { tr.file(tr.dir+"/x.wasm", 0o666) }},
		{name: "writable by others, any owner allowed", policy: &Policy{AnyOwner: true}, want: "writable by group or others (mode 0646)",
			setup: func(tr *tree) { tr.file(tr.dir+"/x.wasm", 0o646) }},
		{name: "owned by another uid", want: "owned by uid 1002, not one of 0, 1001", setup: func(tr *tree) { tr.chown(tr.file(tr.dir+"/x.wasm", 0o644), 1002) }},
		{name: "owned by a uid, root only", policy: &Policy{}, want: "owned by uid 1001, not root (0)",
			setup: func(tr *tree) { tr.chown(tr.file(tr.dir+"/x.wasm", 0o644), 1001) }},
		{name: "symlink target owned by another uid", want: "owned by uid 1002, not one of 0, 1001", setup: func(tr *tree) {
			tr.chown(tr.file(tr.dir+"/x-v2.wasm", 0o644), 1002)
			tr.symlink("x-v2.wasm", tr.dir+"/x.wasm")
		}},
		{name: "one byte over the limit", max: 7, want: "8 bytes, over the limit of 7", setup: func(tr *tree) { tr.file(tr.dir+"/x.wasm", 0o644) }},
		{name: "sparse 512MiB file", max: 32 << 20, want: "536870912 bytes, over the limit of 33554432", setup: func(tr *tree) {
			if err := os.Truncate(tr.file(tr.dir+"/x.wasm", 0o644), 512<<20); err != nil {
				tr.t.Fatal(err)
			}
		}},
		{name: "subdirectory writable by others", file: "build/x.wasm", want: "{dir}/build: writable by group or others (mode 0777)", setup: func(tr *tree) {
			tr.mkdir(tr.dir+"/build", 0o777)
			tr.file(tr.dir+"/build/x.wasm", 0o644)
		}},
		{name: "subdirectory owned by another uid", want: "{dir}/build: owned by uid 1002, not one of 0, 1001", setup: func(tr *tree) {
			tr.mkdir(tr.dir+"/build", 0o755)
			tr.chown(tr.dir+"/build", 1002)
			tr.file(tr.dir+"/build/x.wasm", 0o644)
			tr.symlink("build/x.wasm", tr.dir+"/x.wasm")
		}},
		{name: "directory writable by others", want: "{dir}: writable by group or others (mode 1777)", setup: func(tr *tree) {
			tr.file(tr.dir+"/x.wasm", 0o644)
			tr.chmod(tr.dir, 0o777|os.ModeSticky)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t)
			tt.setup(tr)
			name, p, limit := tt.file, tenant, tt.max
			if name == "" {
				name = "x.wasm"
			}
			if tt.policy != nil {
				p = *tt.policy
			}
			if limit == 0 {
				limit = 1 << 20
			}
			got, err := ReadFile(tr.dir, name, limit, p)
			if tt.want == "" {
				if err != nil || !bytes.Equal(got, tr.data) {
					t.Fatalf("ReadFile = %q, %v; want %q", got, err, tr.data)
				}
				return
			}
			want := strings.NewReplacer("{out}", tr.out, "{dir}", tr.dir).Replace(tt.want)
			if !strings.HasPrefix(want, tr.dir) {
				want = filepath.Join(tr.dir, name) + ": " + want
			}
			if err == nil || err.Error() != want {
				t.Fatalf("ReadFile error = %v\nwant %s", err, want)
			}
			if got != nil {
				t.Errorf("ReadFile returned %d bytes with an error", len(got))
			}
			if !errors.Is(err, ErrRefused) {
				t.Errorf("error %v does not wrap ErrRefused", err)
			}
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Errorf("error %v is a %T, not an *Error", err, err)
			}
		})
	}
}

// TestReadFileMissing: a missing file, or a symlink to one, is
// fs.ErrNotExist (a removed plugin), not a refusal.
func TestReadFileMissing(t *testing.T) {
	tests := []struct {
		name  string
		setup func(tr *tree)
	}{
		{"no such file", func(*tree) {}},
		{"dangling symlink inside", func(tr *tree) { tr.symlink("gone.wasm", tr.dir+"/x.wasm") }},
		{"no such directory", func(tr *tree) {
			if err := os.Remove(tr.dir); err != nil {
				tr.t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t)
			tt.setup(tr)
			_, err := ReadFile(tr.dir, "x.wasm", 1<<20, tenant)
			if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrRefused) {
				t.Fatalf("ReadFile error = %v, want fs.ErrNotExist and not ErrRefused", err)
			}
		})
	}
}

// TestOpenCheckedFIFO: a FIFO that takes a checked name after fstatat
// (a race) is opened without blocking and refused by its fstat.
func TestOpenCheckedFIFO(t *testing.T) {
	tr := newTree(t)
	if err := syscall.Mkfifo(tr.dir+"/x.wasm", 0o644); err != nil {
		t.Fatal(err)
	}
	dirfd, _, err := openDir(tr.dir, tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	fd, err := open(dirfd, "x.wasm", 0)
	if err != nil {
		t.Fatalf("open of a FIFO: %v", err)
	}
	defer unix.Close(fd)
	var pre unix.Stat_t
	if err := unix.Fstat(fd, &pre); err != nil {
		t.Fatal(err)
	}
	err = checkOpen(fd, "x.wasm", &pre, tenant, unix.S_IFREG)
	if err == nil || err.Error() != "x.wasm: a FIFO, not a regular file" {
		t.Errorf("checkOpen error = %v, want the FIFO refused", err)
	}
}

// TestReadAllNoticesGrowth: a file longer than fstat said when it was
// checked is refused once it passes the limit, reading at most limit+1
// bytes.
func TestReadAllNoticesGrowth(t *testing.T) {
	tests := []struct {
		name        string
		content     int   // bytes in the file
		size, limit int64 // what fstat said, the limit
		wantErr     bool
	}{
		{"as fstat said", 100, 100, 100, false},
		{"grew within the limit", 5000, 10, 8192, false},
		{"grew to the limit", 64, 10, 64, false},
		{"grew past the limit", 65, 10, 64, true},
		{"grew far past the limit", 1 << 20, 0, 4096, true},
		{"shrank", 10, 100, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x")
			if err := os.WriteFile(path, bytes.Repeat([]byte{'a'}, tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := readAll(int(f.Fd()), tt.size, tt.limit)
			switch {
			case tt.wantErr && !errors.Is(err, errGrew):
				t.Fatalf("readAll = %d bytes, %v; want errGrew", len(got), err)
			case !tt.wantErr && (err != nil || len(got) != tt.content):
				t.Fatalf("readAll = %d bytes, %v; want %d", len(got), err, tt.content)
			}
			if tt.wantErr {
				if off, _ := f.Seek(0, 1); off > tt.limit+1 {
					t.Errorf("read %d bytes, more than limit+1 = %d", off, tt.limit+1)
				}
			}
		})
	}
}
