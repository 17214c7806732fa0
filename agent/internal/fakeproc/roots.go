package fakeproc

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// rootDir is where Write puts the root filesystems that PID/root links to,
// relative to the tree root.
const rootDir = ".fakeproc/root"

// HostRoot is the root name a Proc with an empty Root is in.
const HostRoot = "host"

// Root is the part of a process's root filesystem the agent reads. The
// fields after Passwd make etc/passwd hostile, as anyone who controls a
// root directory (a container, a chroot, a user namespace) can make it:
// at most one of them may be set.
type Root struct {
	// Passwd is the content of etc/passwd; "" writes no file, as in a
	// distroless image.
	Passwd string `yaml:"passwd"`
	// PasswdFIFO makes etc/passwd a named pipe that nobody writes to, so
	// that a blocking open or read of it never returns.
	PasswdFIFO bool `yaml:"passwd-fifo"`
	// PasswdLink makes etc/passwd a symlink to this target, e.g.
	// "/dev/zero", an endless file outside the root.
	PasswdLink string `yaml:"passwd-link"`
	// PasswdSizeBytes, when larger than Passwd, extends etc/passwd to this
	// size with a hole (a sparse file of zero bytes after Passwd).
	PasswdSizeBytes int64 `yaml:"passwd-size-bytes"`
}

// HostPasswd is an Ubuntu 24.04 host's /etc/passwd, shortened: root,
// system users (33 www-data, 999 systemd-coredump, 65534 nobody) and one
// login user, dev (1000).
const HostPasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
systemd-coredump:x:999:999:systemd Core Dumper:/:/usr/sbin/nologin
messagebus:x:100:102::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
dev:x:1000:1000:Dev,,,:/home/dev:/bin/bash
`

// ContainerPasswd is the /etc/passwd of a Debian-based application image
// (the official redis and node images together): the same uids as
// HostPasswd name other users, 999 redis and 1000 node.
const ContainerPasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
redis:x:999:999::/home/redis:/bin/sh
node:x:1000:1000::/home/node:/bin/bash
`

// roots returns the roots Write lays out: t.Roots, or when it is nil one
// host root with HostPasswd.
func (t *Tree) roots() map[string]Root {
	if t.Roots != nil {
		return t.Roots
	}
	return map[string]Root{HostRoot: {Passwd: HostPasswd}}
}

// writeRoots lays out every root as .fakeproc/root/NAME/etc/passwd.
func (w *writer) writeRoots(dir string, roots map[string]Root) {
	names := make([]string, 0, len(roots))
	for name := range roots {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
			w.fail(fmt.Errorf("bad root name %q", name))
			return
		}
		etc := filepath.Join(dir, rootDir, name, "etc")
		w.mkdir(etc)
		w.passwd(filepath.Join(etc, "passwd"), roots[name])
	}
}

// passwd writes etc/passwd of root r at path.
func (w *writer) passwd(path string, r Root) {
	if w.err != nil {
		return
	}
	if r.PasswdFIFO && r.PasswdLink != "" || (r.PasswdFIFO || r.PasswdLink != "") && (r.Passwd != "" || r.PasswdSizeBytes > 0) {
		w.fail(fmt.Errorf("root passwd: more than one of passwd, passwd-fifo and passwd-link"))
		return
	}
	// A rewrite never writes through what an earlier layout left there.
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		if err := os.Remove(path); err != nil {
			w.fail(err)
			return
		}
	}
	switch {
	case r.PasswdFIFO:
		if err := removeIfExists(path); err != nil {
			w.fail(err)
			return
		}
		w.err = unix.Mkfifo(path, 0o644)
	case r.PasswdLink != "":
		w.symlink(r.PasswdLink, path)
	case r.Passwd != "" || r.PasswdSizeBytes > 0:
		w.file(path, []byte(r.Passwd), 0o644)
		if w.err == nil && r.PasswdSizeBytes > int64(len(r.Passwd)) {
			w.err = os.Truncate(path, r.PasswdSizeBytes)
		}
	}
}

// rootLink links PID/root to the root p is in, as the kernel's magic
// link points at the process's root directory.
func (w *writer) rootLink(pd string, p *Proc, roots map[string]Root) {
	name := p.Root
	if name == "" {
		name = HostRoot
	}
	if _, ok := roots[name]; !ok {
		w.fail(fmt.Errorf("root %q is not in the tree's roots", name))
		return
	}
	w.symlink(filepath.Join("..", rootDir, name), filepath.Join(pd, "root"))
}

// chown gives the process directory and everything in it to p's uid and
// gid, as the kernel makes /proc/PID owned by the task's effective ids
// (fs/proc/base.c task_dump_owner). Only root may; for anyone else the
// files stay the writer's.
func (w *writer) chown(pd string, p *Proc) {
	if w.err != nil || os.Geteuid() != 0 {
		return
	}
	w.err = filepath.WalkDir(pd, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, p.UID, p.GID)
	})
}
