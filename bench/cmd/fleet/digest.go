package main

import (
	"encoding/binary"
	"maps"
	"math/bits"
	"slices"

	"github.com/proctag/proctag/agent/snapshot"
)

// digest is a 64-bit hash of a state's processes and sockets, every
// field, in the state's order: the parent computes it from what a host
// submitted, the subscriber child from the state it assembled, and equal
// digests mean the subscriber has the host's state. Scan times and the
// host record are left out (a heartbeat moves the scan time only). It
// mixes 8 bytes at a step (a multiply and a rotation each, as wyhash and
// its kin do): the child hashes every host's state each time it changes,
// and that work is on the subscriber's CPU bill.
type digest uint64

const (
	mixMul  = 0x9E3779B97F4A7C15 // 2^64 / φ
	mixSeed = 0x2545F4914F6CDD1D
)

func (d digest) u64(v uint64) digest {
	return digest(bits.RotateLeft64((uint64(d)^v)*mixMul, 31) * mixSeed)
}

func (d digest) str(s string) digest {
	d = d.u64(uint64(len(s))) // ends the string: "ab","c" differs from "a","bc"
	for len(s) >= 8 {
		d = d.u64(binary.LittleEndian.Uint64([]byte(s[:8])))
		s = s[8:]
	}
	var tail [8]byte
	copy(tail[:], s)
	return d.u64(binary.LittleEndian.Uint64(tail[:]))
}

// stateDigest is the digest of s's processes and sockets.
func stateDigest(s *snapshot.Snapshot) digest {
	d := digest(mixSeed).u64(uint64(len(s.Processes)))
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
