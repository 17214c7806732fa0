package main

import (
	"maps"
	"slices"

	"github.com/proctag/proctag/agent/snapshot"
)

// digest is a 64-bit FNV-1a hash of a state's processes and sockets,
// every field, in the state's order: the parent computes it from what a
// host submitted, the subscriber child from the state it assembled, and
// equal digests mean the subscriber has the host's state. Scan times and
// the host record are left out (a heartbeat moves the scan time only).
type digest uint64

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (d digest) u64(v uint64) digest {
	for range 8 {
		d = (d ^ digest(v&0xff)) * fnvPrime
		v >>= 8
	}
	return d
}

func (d digest) str(s string) digest {
	for i := range len(s) {
		d = (d ^ digest(s[i])) * fnvPrime
	}
	return (d ^ 0xff) * fnvPrime // ends the string: "ab","c" differs from "a","bc"
}

// stateDigest is the digest of s's processes and sockets.
func stateDigest(s *snapshot.Snapshot) digest {
	d := digest(fnvOffset).u64(uint64(len(s.Processes)))
	for i := range s.Processes {
		p := &s.Processes[i]
		d = d.u64(uint64(p.PID)).u64(uint64(p.PPID)).u64(uint64(p.StartTime)).str(p.Name).str(p.ProcessName).
			str(p.Cmdline).str(p.Exe).str(p.User).u64(uint64(p.UID)).u64(p.NetNSID).str(p.ContainerID).
			u64(uint64(p.MatchedRule)).u64(uint64(p.Exited)).u64(uint64(len(p.Tags)))
		for _, k := range slices.Sorted(maps.Keys(p.Tags)) {
			d = d.str(k).str(p.Tags[k])
		}
	}
	d = d.u64(uint64(len(s.Sockets)))
	for i := range s.Sockets {
		k := &s.Sockets[i]
		d = d.str(k.Proto).str(k.LocalIP).u64(uint64(k.LocalPort)).str(k.RemoteIP).u64(uint64(k.RemotePort)).
			str(k.State).str(k.Role).u64(k.Inode).u64(k.NetNSID).u64(uint64(len(k.PIDs)))
		for _, pid := range k.PIDs {
			d = d.u64(uint64(pid))
		}
	}
	return d
}
