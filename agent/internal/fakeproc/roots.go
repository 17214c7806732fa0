package fakeproc

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// rootDir is where Write puts the root filesystems that PID/root links to,
// relative to the tree root.
const rootDir = ".fakeproc/root"

// HostRoot is the root name a Proc with an empty Root is in.
const HostRoot = "host"

// Root is the part of a process's root filesystem the agent reads.
type Root struct {
	// Passwd is the content of etc/passwd; "" writes no file, as in a
	// distroless image.
	Passwd string `yaml:"passwd"`
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
		if r := roots[name]; r.Passwd != "" {
			w.file(filepath.Join(etc, "passwd"), []byte(r.Passwd), 0o644)
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
