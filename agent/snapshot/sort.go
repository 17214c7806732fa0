package snapshot

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// Sort puts the processes and sockets of s in the order the model documents:
// processes by PID then StartTime; sockets by NetNSID, Proto, local address
// (numeric IP order, then port), remote address, Inode. Producers call it
// before publishing so that Delta.Apply rebuilds the exact same value; Apply
// itself returns sorted snapshots. Sort is not safe for concurrent use.
func (s *Snapshot) Sort() {
	s.SortProcesses()
	slices.SortFunc(s.Sockets, compareSockets)
	slices.SortFunc(s.SocketRows, compareRows)
}

// SortProcesses puts the processes in snapshot order, leaving the sockets
// as they are: for sockets known to be in order already, which may be
// shared with another snapshot.
func (s *Snapshot) SortProcesses() {
	slices.SortFunc(s.Processes, compareProcesses)
}

func compareProcesses(a, b Process) int {
	if c := cmp.Compare(a.PID, b.PID); c != 0 {
		return c
	}
	return cmp.Compare(a.StartTime, b.StartTime)
}

func compareSockets(a, b Socket) int {
	if c := cmp.Compare(a.NetNSID, b.NetNSID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	if c := compareIP(a.LocalIP, b.LocalIP); c != 0 {
		return c
	}
	if c := cmp.Compare(a.LocalPort, b.LocalPort); c != 0 {
		return c
	}
	if c := compareIP(a.RemoteIP, b.RemoteIP); c != 0 {
		return c
	}
	if c := cmp.Compare(a.RemotePort, b.RemotePort); c != 0 {
		return c
	}
	return cmp.Compare(a.Inode, b.Inode)
}

// FindSocket returns the index in socks, sorted in snapshot order, of the
// first socket of namespace netns and proto from local to remote (any
// inode), and whether there is one: a binary search, for the few
// connections an event source asks about.
func FindSocket(socks []Socket, netns uint64, proto string, local, remote netip.AddrPort) (int, bool) {
	key := Socket{NetNSID: netns, Proto: proto,
		LocalIP: local.Addr().String(), LocalPort: local.Port(),
		RemoteIP: remote.Addr().String(), RemotePort: remote.Port()}
	return slices.BinarySearchFunc(socks, key, func(s, k Socket) int {
		k.Inode = 0
		s.Inode = 0
		return compareSockets(s, k)
	})
}

// compareIP orders addresses numerically when both parse, as text otherwise.
// Equal strings, the common case within one table, skip the parse.
func compareIP(a, b string) int {
	if a == b {
		return 0
	}
	pa, errA := netip.ParseAddr(a)
	pb, errB := netip.ParseAddr(b)
	if errA == nil && errB == nil {
		return pa.Compare(pb)
	}
	return strings.Compare(a, b)
}
