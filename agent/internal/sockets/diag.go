package sockets

import (
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/sockdiag"
)

// diagQueries are the sock_diag dumps that give the rows of each table
// that keep lets through, the kernel skipping the other states: TCP in
// LISTEN or ESTABLISHED, UDP unconnected (CLOSE) or connected.
var diagQueries = [len(tables)]sockdiag.Query{
	{Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, States: sockdiag.States(stateListen, stateEstablished)},
	{Family: unix.AF_INET6, Proto: unix.IPPROTO_TCP, States: sockdiag.States(stateListen, stateEstablished)},
	{Family: unix.AF_INET, Proto: unix.IPPROTO_UDP, States: sockdiag.States(stateClose, stateEstablished)},
	{Family: unix.AF_INET6, Proto: unix.IPPROTO_UDP, States: sockdiag.States(stateClose, stateEstablished)},
}

// diagTable reads table t (an index of tables) of the network namespace
// that c was opened in through sock_diag netlink, and calls fn for each
// row that keep lets through, equal to the row readTable parses from
// /proc/PID/net for the same socket. It is the table source a Collector
// can use per namespace (one sockdiag.Conn each, opened with
// sockdiag.OpenNetNS through an owner's ns/net) in place of readTable,
// which stays the fallback when the namespace cannot be entered or the
// kernel has no sock_diag (an error from OpenNetNS or Dump).
func diagTable(c *sockdiag.Conn, t int, fn func(r *parsedRow)) error {
	tab := &tables[t]
	var r parsedRow
	return c.Dump(diagQueries[t], func(s sockdiag.Socket) {
		r = parsedRow{e: entry{state: s.State, uid: s.UID, inode: uint32(s.Inode)}}
		r.set(false, endpointOf(s.Local))
		r.set(true, endpointOf(s.Remote))
		if keep(tab, &r.e) {
			fn(&r)
		}
	})
}
