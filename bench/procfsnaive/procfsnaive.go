// Package procfsnaive is the baseline the benchmarks compare proctag's
// scan with: the obvious use of github.com/prometheus/procfs for what the
// agent reports.
package procfsnaive

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
)

// Read does, under root: AllProcs, then per process Stat, CmdLine,
// FileDescriptorTargets and Namespaces, then NetTCP, NetTCP6, NetUDP and
// NetUDP6 once per network namespace (through its first process), joined
// into inode -> pids. It returns the processes read and the sockets that
// have an owner. A process that exits while it is read is skipped, and
// the namespace of one whose ns/ is denied, as a real host has them.
func Read(root string) (procs, socks int, err error) {
	pfs, err := procfs.NewFS(root)
	if err != nil {
		return 0, 0, err
	}
	all, err := pfs.AllProcs()
	if err != nil {
		return 0, 0, err
	}
	owners := make(map[uint64][]int)
	netns := make(map[uint32]int)
	for _, p := range all {
		if _, err := p.Stat(); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return 0, 0, err
		}
		argv, err := p.CmdLine()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		procs++
		if len(argv) == 0 {
			continue
		}
		targets, err := p.FileDescriptorTargets()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		for _, t := range targets {
			if s, ok := strings.CutPrefix(t, "socket:["); ok {
				if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
					owners[ino] = append(owners[ino], p.PID)
				}
			}
		}
		ns, err := p.Namespaces()
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			// A sandboxed init may deny ns/ even to root; its sockets
			// count through any other process of its namespace.
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		if n, ok := ns["net"]; ok {
			if _, seen := netns[n.Inode]; !seen {
				netns[n.Inode] = p.PID
			}
		}
	}
	for _, pid := range netns {
		nfs, err := procfs.NewFS(filepath.Join(root, strconv.Itoa(pid)))
		if err != nil {
			return 0, 0, err
		}
		for _, read := range []func() ([]uint64, error){
			func() ([]uint64, error) { t, err := nfs.NetTCP(); return tcpInodes(t), err },
			func() ([]uint64, error) { t, err := nfs.NetTCP6(); return tcpInodes(t), err },
			func() ([]uint64, error) { t, err := nfs.NetUDP(); return udpInodes(t), err },
			func() ([]uint64, error) { t, err := nfs.NetUDP6(); return udpInodes(t), err },
		} {
			inodes, err := read()
			if err != nil {
				return 0, 0, err
			}
			for _, ino := range inodes {
				if len(owners[ino]) > 0 {
					socks++
				}
			}
		}
	}
	return procs, socks, nil
}

// tcpInodes returns the inodes of a TCP table.
func tcpInodes(t procfs.NetTCP) []uint64 {
	out := make([]uint64, len(t))
	for i, l := range t {
		out[i] = l.Inode
	}
	return out
}

// udpInodes returns the inodes of a UDP table.
func udpInodes(t procfs.NetUDP) []uint64 {
	out := make([]uint64, len(t))
	for i, l := range t {
		out[i] = l.Inode
	}
	return out
}
