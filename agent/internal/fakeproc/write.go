package fakeproc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// netDir is where Write puts the shared per-namespace tables, relative to
// the tree root. The name is not numeric, so pid listings skip it.
const netDir = ".fakeproc/net"

// Write lays the tree out under dir, which must exist (an empty directory,
// e.g. t.TempDir()). Processes are written in slice order; a pid listed
// twice is an error.
func (t *Tree) Write(dir string) error {
	w := writer{buf: make([]byte, 0, 4096)}
	w.file(filepath.Join(dir, "stat"), t.appendProcStat(nil), 0o444)
	for ns, tabs := range t.NetNS {
		d := filepath.Join(dir, netDir, strconv.FormatUint(ns, 10))
		w.mkdir(d)
		w.file(filepath.Join(d, "tcp"), NetTable(TCP, tabs.TCP), 0o444)
		w.file(filepath.Join(d, "tcp6"), NetTable(TCP6, tabs.TCP6), 0o444)
		w.file(filepath.Join(d, "udp"), NetTable(UDP, tabs.UDP), 0o444)
		w.file(filepath.Join(d, "udp6"), NetTable(UDP6, tabs.UDP6), 0o444)
	}
	roots := t.roots()
	w.writeRoots(dir, roots)
	seen := make(map[int]bool, len(t.Procs))
	for i := range t.Procs {
		p := &t.Procs[i]
		if seen[p.PID] {
			return fmt.Errorf("write fake proc tree: pid %d listed twice", p.PID)
		}
		seen[p.PID] = true
		w.proc(dir, p, roots)
		if w.err != nil {
			return fmt.Errorf("write fake proc tree: pid %d: %w", p.PID, w.err)
		}
	}
	if len(t.Procs) > 0 && t.Procs[0].NetNS != 0 {
		w.symlink(filepath.Join(netDir, strconv.FormatUint(t.Procs[0].NetNS, 10)), filepath.Join(dir, "net"))
	}
	if w.err != nil {
		return fmt.Errorf("write fake proc tree: %w", w.err)
	}
	return nil
}

// appendProcStat appends /proc/stat with the btime line, in the layout of
// fs/proc/stat.c show_stat on a two-cpu machine.
func (t *Tree) appendProcStat(b []byte) []byte {
	b = append(b, "cpu  2255 34 2290 22625563 6290 127 456 0 0 0\n"+
		"cpu0 1132 34 1441 11311718 3675 127 438 0 0 0\n"+
		"cpu1 1123 0 849 11313845 2614 0 18 0 0 0\n"+
		"intr 114930548 113199788 3 0 5 263 0 4 [0]\n"+
		"ctxt 1990473\nbtime "...)
	b = strconv.AppendInt(b, t.BootTime, 10)
	b = append(b, "\nprocesses "...)
	b = strconv.AppendInt(b, int64(len(t.Procs)), 10)
	return append(b, "\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n"...)
}

// writer keeps the first error so that the layout code reads straight.
type writer struct {
	err error
	buf []byte
}

func (w *writer) mkdir(path string) {
	if w.err == nil {
		w.err = os.MkdirAll(path, 0o755)
	}
}

func (w *writer) file(path string, content []byte, mode os.FileMode) {
	if w.err != nil {
		return
	}
	// An existing file is rewritten in place (same inode), as procfs
	// files change under open descriptors; a denied one is opened up
	// first so that a non-root writer can rewrite it.
	if err := os.Chmod(path, 0o644); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.err = err
		return
	}
	w.err = os.WriteFile(path, content, mode)
	if w.err == nil {
		w.err = os.Chmod(path, mode)
	}
}

func (w *writer) symlink(target, path string) {
	if w.err != nil {
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.err = err
		return
	}
	w.err = os.Symlink(target, path)
}

func (w *writer) proc(dir string, p *Proc, roots map[string]Root) {
	pd := filepath.Join(dir, strconv.Itoa(p.PID))
	if w.err == nil {
		// Links that p may no longer have; files are rewritten in place.
		w.err = errors.Join(os.RemoveAll(filepath.Join(pd, "fd")), removeIfExists(filepath.Join(pd, "exe")),
			removeIfExists(filepath.Join(pd, "ns", "net")), removeIfExists(filepath.Join(pd, "net")),
			removeIfExists(filepath.Join(pd, "root")))
	}
	w.mkdir(filepath.Join(pd, "fd"))
	w.mkdir(filepath.Join(pd, "ns"))
	mode := func(name string) os.FileMode {
		if slices.Contains(p.Deny, name) {
			return 0
		}
		if name == "environ" {
			return 0o400
		}
		return 0o444
	}
	w.buf = AppendStat(w.buf[:0], p)
	w.file(filepath.Join(pd, "stat"), w.buf, mode("stat"))
	w.buf = AppendStatus(w.buf[:0], p)
	w.file(filepath.Join(pd, "status"), w.buf, mode("status"))
	w.buf = w.buf[:0]
	if p.RawCmdline != "" {
		w.buf = append(w.buf, p.RawCmdline...)
	} else {
		w.buf = appendNULList(w.buf, p.Argv)
	}
	w.file(filepath.Join(pd, "cmdline"), w.buf, mode("cmdline"))
	w.buf = appendNULList(w.buf[:0], p.Environ)
	w.file(filepath.Join(pd, "environ"), w.buf, mode("environ"))
	cg := p.Cgroup
	if cg == "" {
		cg = "0::/\n"
	}
	w.file(filepath.Join(pd, "cgroup"), []byte(cg), mode("cgroup"))
	w.file(filepath.Join(pd, "comm"), []byte(p.Comm+"\n"), 0o644)
	if p.Exe != "" {
		w.symlink(p.Exe, filepath.Join(pd, "exe"))
	}
	if p.NetNS != 0 {
		ns := strconv.FormatUint(p.NetNS, 10)
		if !p.HideNetNS {
			w.symlink("net:["+ns+"]", filepath.Join(pd, "ns", "net"))
		}
		w.symlink(filepath.Join("..", netDir, ns), filepath.Join(pd, "net"))
	}
	for _, fd := range p.FDs {
		if fd.Num < 0 || strings.ContainsRune(fd.Target, 0) {
			w.fail(fmt.Errorf("bad fd %d -> %q", fd.Num, fd.Target))
			return
		}
		w.symlink(fd.Target, filepath.Join(pd, "fd", strconv.Itoa(fd.Num)))
	}
	w.rootLink(pd, p, roots)
	w.chown(pd, p)
}

func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func appendNULList(b []byte, list []string) []byte {
	for _, s := range list {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

// ErrNoProc is returned by Tree.Remove for a pid that is not in the tree.
var ErrNoProc = errors.New("no such process in tree")

// Remove deletes /proc/PID from a tree written under dir, as if the
// process exited, and drops it from t.
func (t *Tree) Remove(dir string, pid int) error {
	i := slices.IndexFunc(t.Procs, func(p Proc) bool { return p.PID == pid })
	if i < 0 {
		return fmt.Errorf("remove pid %d: %w", pid, ErrNoProc)
	}
	t.Procs = slices.Delete(t.Procs, i, i+1)
	if err := os.RemoveAll(filepath.Join(dir, strconv.Itoa(pid))); err != nil {
		return fmt.Errorf("remove pid %d: %w", pid, err)
	}
	return nil
}

// Rewrite writes /proc/PID of p again under dir, as a process changes its
// argv, comm or state, or as a new process takes a pid. Files are
// rewritten in place, so that a reader keeping them open sees the new
// content as it would on procfs; fd/ and the symlinks are replaced. p's
// root must be one the tree was written with. p
// replaces the tree's entry for p.PID or is appended.
func (t *Tree) Rewrite(dir string, p Proc) error {
	if i := slices.IndexFunc(t.Procs, func(q Proc) bool { return q.PID == p.PID }); i >= 0 {
		t.Procs[i] = p
	} else {
		t.Procs = append(t.Procs, p)
	}
	w := writer{}
	w.proc(dir, &p, t.roots())
	if w.err != nil {
		return fmt.Errorf("rewrite pid %d: %w", p.PID, w.err)
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
