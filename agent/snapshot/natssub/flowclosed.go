package natssub

import (
	"net/netip"

	"github.com/proctag/proctag/agent/snapshot"
)

// closedRing is a host's short connections, oldest first: recs[i] has seq
// first+i. It keeps those of the host's last FlowConfig.ClosedTicks state
// messages, at most FlowConfig.ClosedMax.
type closedRing struct {
	recs  []closedRec
	first uint64 // seq of recs[0]
	next  uint64 // seq of the next record
	tick  uint64 // state messages applied
}

// closedRec is one end of a short connection.
type closedRec struct {
	key    tupleKey
	seq    uint64
	tick   uint64
	netns  uint64
	pid    int
	start  int64
	name   string
	server bool
}

// at returns the record seq, or nil when it was evicted.
func (r *closedRing) at(seq uint64) *closedRec {
	if seq < r.first || seq-r.first >= uint64(len(r.recs)) {
		return nil
	}
	return &r.recs[seq-r.first]
}

// addClosed counts one state message of h: it evicts the connections that
// were kept for ClosedTicks messages, then adds list, evicting the oldest
// past ClosedMax. A 4-tuple seen again points at its newest record.
func (x *FlowIndex) addClosed(h *hostIndex, list []snapshot.Connection) {
	r := &h.closed
	r.tick++
	n := 0
	for n < len(r.recs) && r.recs[n].tick+uint64(x.cfg.ClosedTicks) <= r.tick {
		n++
	}
	x.evictClosed(h, n)
	for i := range list {
		c := &list[i]
		proto, ok := ParseProto(c.Proto)
		if !ok {
			continue
		}
		la, err1 := netip.ParseAddr(c.LocalIP)
		ra, err2 := netip.ParseAddr(c.RemoteIP)
		if err1 != nil || err2 != nil {
			continue
		}
		if len(r.recs) == 0 {
			r.first = r.next
		}
		rec := closedRec{
			key: tupleKey{local: la.Unmap().As16(), remote: ra.Unmap().As16(), lport: c.LocalPort, rport: c.RemotePort, proto: proto},
			seq: r.next, tick: r.tick, netns: c.NetNSID, pid: c.PID, start: c.StartTime, name: c.Name,
			server: c.Role == "server",
		}
		r.next++
		r.recs = append(r.recs, rec)
		x.closed[rec.key] = closedRef{h: h, seq: rec.seq}
	}
	if over := len(r.recs) - x.cfg.ClosedMax; over > 0 {
		x.evictClosed(h, over)
	}
}

// evictClosed drops h's n oldest short connections.
func (x *FlowIndex) evictClosed(h *hostIndex, n int) {
	r := &h.closed
	for i := range n {
		rec := &r.recs[i]
		if ref, ok := x.closed[rec.key]; ok && ref.h == h && ref.seq == rec.seq {
			delete(x.closed, rec.key)
		}
		*rec = closedRec{} // let the name go
	}
	r.recs = r.recs[n:]
	r.first += uint64(n)
	if len(r.recs) == 0 {
		r.recs = nil
		r.first = r.next
	}
}
