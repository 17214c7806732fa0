package dirtrust

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDir(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(tr *tree) string // returns the path to check
		policy *Policy               // nil = tenant
		want   string                // error, {dir} and {path} replaced; "" = accepted
	}{
		{name: "root's directory", setup: func(tr *tree) string { return tr.dir }},
		{name: "owner-only directory", setup: func(tr *tree) string { tr.chmod(tr.dir, 0o700); return tr.dir }},
		{name: "owned by a listed uid", setup: func(tr *tree) string { tr.chown(tr.dir, 1001); return tr.dir }},
		{name: "any owner allowed", policy: &Policy{AnyOwner: true}, setup: func(tr *tree) string { tr.chown(tr.dir, 4242); return tr.dir }},
		{name: "symlink to a good directory", setup: func(tr *tree) string {
			tr.symlink(tr.dir, tr.out+"/link")
			return tr.out + "/link"
		}},
		{name: "trailing slash", setup: func(tr *tree) string { return tr.dir + "/" }},

		{name: "writable by group", want: "{path}: writable by group or others (mode 0775)", setup: func(tr *tree) string {
			tr.chmod(tr.dir, 0o775)
			return tr.dir
		}},
		{name: "sticky and writable by all", want: "{path}: writable by group or others (mode 1777)", setup: func(tr *tree) string {
			tr.chmod(tr.dir, 0o777|os.ModeSticky)
			return tr.dir
		}},
		{name: "writable by others, any owner allowed", policy: &Policy{AnyOwner: true}, want: "{path}: writable by group or others (mode 0757)",
			setup: func(tr *tree) string { tr.chmod(tr.dir, 0o757); return tr.dir }},
		{name: "owned by another uid", want: "{path}: owned by uid 1002, not one of 0, 1001", setup: func(tr *tree) string {
			tr.chown(tr.dir, 1002)
			return tr.dir
		}},
		{name: "owned by a uid, root only", policy: &Policy{}, want: "{path}: owned by uid 1001, not root (0)", setup: func(tr *tree) string {
			tr.chown(tr.dir, 1001)
			return tr.dir
		}},
		{name: "symlink to a writable directory", want: "{path}: writable by group or others (mode 0777)", setup: func(tr *tree) string {
			tr.chmod(tr.dir, 0o777)
			tr.symlink(tr.dir, tr.out+"/link")
			return tr.out + "/link"
		}},
		{name: "a regular file", want: "{path}: a regular file, not a directory", setup: func(tr *tree) string {
			return tr.file(tr.dir+"/x.wasm", 0o644)
		}},
		{name: "symlink to a regular file", want: "{path}: a regular file, not a directory", setup: func(tr *tree) string {
			tr.symlink(tr.file(tr.dir+"/x.wasm", 0o644), tr.out+"/link")
			return tr.out + "/link"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t)
			path := tt.setup(tr)
			p := tenant
			if tt.policy != nil {
				p = *tt.policy
			}
			err := CheckDir(path, p)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckDir(%s) = %v, want nil", path, err)
				}
				return
			}
			want := strings.NewReplacer("{path}", path, "{dir}", tr.dir).Replace(tt.want)
			if err == nil || err.Error() != want || !errors.Is(err, ErrRefused) {
				t.Fatalf("CheckDir error = %v\nwant %s (wrapping ErrRefused)", err, want)
			}
		})
	}
}

func TestCheckDirMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none")
	err := CheckDir(path, tenant)
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrRefused) {
		t.Fatalf("CheckDir(missing) = %v, want fs.ErrNotExist, not ErrRefused", err)
	}
	if want := path + ": no such file or directory"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestPolicyOwners(t *testing.T) {
	tests := []struct {
		p    Policy
		uid  uint32
		ok   bool
		list string
	}{
		{Policy{}, 0, true, "root (0)"},
		{Policy{}, 1001, false, "root (0)"},
		{Policy{Owners: []int{0}}, 5, false, "root (0)"},
		{Policy{Owners: []int{1001, 1002, 1001}}, 1002, true, "one of 0, 1001, 1002"},
		{Policy{Owners: []int{-1}}, 1<<32 - 1, false, "one of 0, -1"},
		{Policy{AnyOwner: true}, 7, true, "root (0)"},
	}
	for _, tt := range tests {
		if got := tt.p.allows(tt.uid); got != tt.ok {
			t.Errorf("%+v.allows(%d) = %v, want %v", tt.p, tt.uid, got, tt.ok)
		}
		if got := tt.p.owners(); got != tt.list {
			t.Errorf("%+v.owners() = %q, want %q", tt.p, got, tt.list)
		}
	}
}
