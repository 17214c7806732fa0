package sockets

import (
	"slices"

	"github.com/proctag/proctag/agent/internal/ifaddrs"
	"github.com/proctag/proctag/agent/snapshot"
)

// addrsState is what Addresses keeps between calls.
type addrsState struct {
	// self reads the agent's own namespace when no sock_diag source of it
	// is open (no owner there, or sock_diag off); selfErr is set once
	// opening it failed.
	self    *ifaddrs.Conn
	selfErr bool
	warned  bool
	list    []snapshot.NetNSAddrs
	scratch []snapshot.NetNSAddrs
}

// Addresses returns the interface addresses of the agent's own network
// namespace and of every namespace whose sockets the last Collect dumped
// over sock_diag (the namespaces of the owners the agent could enter),
// sorted by namespace; nil when Root is not a procfs mount (a fake tree has
// no namespaces) or none could be read. relink re-reads the interface names
// (see ifaddrs.Conn.Addrs); pass the Collect's full. When nothing changed
// since the last call it returns the same slice, which callers must not
// modify. A namespace whose read fails is left out and logged once.
func (c *Collector) Addresses(relink bool) []snapshot.NetNSAddrs {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := &c.addrs
	if !c.addrsOn {
		return nil
	}
	out := a.scratch[:0]
	for ns, d := range c.diags {
		d.mu.Lock()
		if d.route != nil {
			out = c.readAddrs(out, ns, d.route, relink)
		}
		d.mu.Unlock()
	}
	if !slices.ContainsFunc(out, func(n snapshot.NetNSAddrs) bool { return n.NetNSID == c.selfNS }) {
		if a.self == nil && !a.selfErr {
			var err error
			if a.self, err = ifaddrs.Open(); err != nil {
				a.selfErr = true
				c.logger.Warn("cannot read the host's interface addresses", "error", err)
			}
		}
		if a.self != nil {
			out = c.readAddrs(out, c.selfNS, a.self, relink)
		}
	}
	slices.SortFunc(out, func(x, y snapshot.NetNSAddrs) int {
		switch {
		case x.NetNSID < y.NetNSID:
			return -1
		case x.NetNSID > y.NetNSID:
			return 1
		}
		return 0
	})
	a.scratch = out
	if slices.EqualFunc(out, a.list, func(x, y snapshot.NetNSAddrs) bool {
		return x.NetNSID == y.NetNSID && len(x.Addrs) == len(y.Addrs) &&
			(len(x.Addrs) == 0 || &x.Addrs[0] == &y.Addrs[0])
	}) {
		return a.list
	}
	a.list = slices.Clone(out)
	return a.list
}

// readAddrs appends the addresses of namespace ns read through conn to out.
func (c *Collector) readAddrs(out []snapshot.NetNSAddrs, ns uint64, conn *ifaddrs.Conn, relink bool) []snapshot.NetNSAddrs {
	addrs, err := conn.Addrs(relink)
	if err != nil {
		if !c.addrs.warned {
			c.addrs.warned = true
			c.logger.Warn("cannot read a network namespace's interface addresses, leaving them out", "netns", ns, "error", err)
		}
		return out
	}
	return append(out, snapshot.NetNSAddrs{NetNSID: ns, Addrs: addrs})
}
