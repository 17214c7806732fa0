package sockets

import "errors"

// Owners whose ns/net cannot be read (Owner.NetNS 0: pid 1 of a sandbox,
// a process in another user namespace, another user's process without
// CAP_SYS_PTRACE) are placed by the inode of their /proc/PID/net/tcp.
// procfs creates the net/ entries once per network namespace and shows the
// same ones under every process in it, so stat of /proc/PID/net/tcp gives
// one inode for all the processes of a namespace and different inodes for
// different namespaces, while /proc/PID/net itself is a directory of its
// own per process. Such an owner joins the group of the known namespace
// whose tcp table had that inode when it was read in the same Collect,
// so that the namespace's tables are read once; owners of a namespace no
// known owner is in form one group per inode, reported with NetNS 0. An
// owner whose net/tcp cannot be stat'ed either forms a group of its own:
// two namespaces are never merged.

// hiddenOwner is an owner of the Collect whose NetNS is 0.
type hiddenOwner struct {
	i  int // index in the owners
	st *ownerState
	// stat is set when its net/tcp is to be stat'ed in this Collect (see
	// plan); gone when that found the process gone.
	stat, gone bool
}

// statHidden stats the net/tcp of h when planned, and keeps its inode in
// h.st.tab (0 when the stat failed). Hidden owners are stat'ed
// concurrently: each writes only its own h and h.st.
func (c *Collector) statHidden(r *reader, h *hiddenOwner, owners []Owner) {
	if !h.stat {
		return
	}
	c.tabStats.Add(1)
	ino, err := r.tcpInode(owners[h.i].PID)
	h.st.tab = ino
	h.gone = errors.Is(err, errVanished) && !r.pidExists(owners[h.i].PID)
}

// placeHidden chains each hidden owner into the group of its namespace:
// the known group whose tcp table, as read in this Collect, has the
// inode of its net/tcp, else a new group of NetNS 0 for that inode; an
// owner whose inode is unknown gets a group of its own, a vanished one
// none. It runs after the tables of the known groups were read.
func (c *Collector) placeHidden() {
	clear(c.tabGroup)
	for g := range c.groups {
		if tab := c.groups[g].tab; tab != 0 {
			if _, dup := c.tabGroup[tab]; !dup {
				c.tabGroup[tab] = g
			}
		}
	}
	for _, h := range c.hidden {
		tab := h.st.tab
		switch g, ok := c.tabGroup[tab]; {
		case h.gone:
		case tab == 0:
			c.newGroup(0, 0, h.i)
		case ok:
			c.chain(g, h.i)
		default:
			c.tabGroup[tab] = c.newGroup(0, tab, h.i)
		}
	}
}
