package fakeproc

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
)

// Generate returns a realistic host of procs processes and about sockets
// sockets, the same for the same seed: pid 1 (systemd) and pid 2
// (kthreadd) with about 5% kernel threads under it; user processes in
// parent chains several levels deep, spread over the host network
// namespace and a few container namespaces (one per 1,000 processes, at
// most 8) whose processes carry docker or kubepods cgroups and have the
// container's root (ContainerPasswd, the host's has HostPasswd); pids ascending
// with gaps and start times ascending with the pids; a mix of
// argv forms (paths, relative names, argv rewritten with spaces and no
// NULs, comms with spaces and parentheses); every socket owned by one
// process of its namespace (one in 20 by two, as after fork), with
// listeners, established connections, IPv4, IPv6 and IPv4-mapped
// addresses. It is meant for benchmarks: Generate(10000, 100000, 1).
func Generate(procs, sockets int, seed int64) *Tree {
	r := rand.New(rand.NewPCG(uint64(seed), 0x70726f63))
	t := &Tree{BootTime: 1795645876, NetNS: make(map[uint64]NetTables),
		Roots: map[string]Root{HostRoot: {Passwd: HostPasswd}}}
	nsList := []uint64{HostNetNS}
	for i := 0; i < min(procs/1000, 8); i++ {
		ns := HostNetNS + uint64(100+i)
		nsList = append(nsList, ns)
		t.Roots[containerRoot(ns)] = Root{Passwd: ContainerPasswd}
	}
	for _, ns := range nsList {
		t.NetNS[ns] = NetTables{}
	}
	t.Procs = make([]Proc, 0, procs)
	pid, ticks := 0, uint64(1)
	next := func() {
		pid += 1 + r.IntN(3)
		ticks += uint64(1 + r.IntN(50))
	}
	// userByNS lists, per namespace, the indexes of user processes.
	userByNS := make(map[uint64][]int)
	for len(t.Procs) < procs {
		next()
		switch {
		case len(t.Procs) == 0:
			pid = 1
			t.Procs = append(t.Procs, userProc(pid, 0, ticks, 0, HostNetNS, "", r))
			userByNS[HostNetNS] = append(userByNS[HostNetNS], 0)
		case len(t.Procs) == 1:
			pid = 2
			t.Procs = append(t.Procs, kernelThread(pid, 0, ticks, "kthreadd"))
		case r.IntN(20) == 0:
			t.Procs = append(t.Procs, kernelThread(pid, 2, ticks, kthreadNames[r.IntN(len(kthreadNames))]+strconv.Itoa(r.IntN(2))))
		default:
			ns := nsList[0]
			if len(nsList) > 1 && r.IntN(3) == 0 {
				ns = nsList[1+r.IntN(len(nsList)-1)]
			}
			parents := userByNS[ns]
			ppid := 1
			if len(parents) > 0 && r.IntN(4) != 0 {
				// Prefer recent parents, which makes deep chains.
				ppid = t.Procs[parents[len(parents)-1-r.IntN(min(len(parents), 16))]].PID
			}
			cg, root := "", ""
			if ns != HostNetNS {
				cg, root = containerCgroup(ns, r), containerRoot(ns)
			}
			p := userProc(pid, ppid, ticks, r.IntN(3)*500, ns, cg, r)
			p.Root = root
			t.Procs = append(t.Procs, p)
			userByNS[ns] = append(userByNS[ns], len(t.Procs)-1)
		}
	}
	inode := uint64(200000)
	for i := 0; i < sockets; i++ {
		ns := nsList[r.IntN(len(nsList))]
		owners := userByNS[ns]
		if len(owners) == 0 {
			ns, owners = HostNetNS, userByNS[HostNetNS]
		}
		inode += uint64(1 + r.IntN(3))
		proto, e := randomSock(r, inode)
		o := &t.Procs[owners[r.IntN(len(owners))]]
		e.UID = o.UID
		pids := []int{o.PID}
		if r.IntN(20) == 0 {
			pids = append(pids, t.Procs[owners[r.IntN(len(owners))]].PID)
		}
		t.addSocketFast(ns, proto, e, pids)
	}
	return t
}

// addSocketFast is AddSocket without the pid search, for Generate, where
// pids ascend with the slice index.
func (t *Tree) addSocketFast(ns uint64, proto Proto, e SockEntry, pids []int) {
	tabs := t.NetNS[ns]
	switch proto {
	case TCP:
		tabs.TCP = append(tabs.TCP, e)
	case TCP6:
		tabs.TCP6 = append(tabs.TCP6, e)
	case UDP:
		tabs.UDP = append(tabs.UDP, e)
	default:
		tabs.UDP6 = append(tabs.UDP6, e)
	}
	t.NetNS[ns] = tabs
	target := SocketTarget(e.Inode)
	for _, pid := range pids {
		i := searchPID(t.Procs, pid)
		p := &t.Procs[i]
		p.FDs = append(p.FDs, FD{Num: p.FDs[len(p.FDs)-1].Num + 1, Target: target})
	}
}

func searchPID(procs []Proc, pid int) int {
	lo, hi := 0, len(procs)
	for lo < hi {
		m := (lo + hi) / 2
		if procs[m].PID < pid {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

var kthreadNames = []string{"kworker/", "ksoftirqd/", "migration/", "rcu_preempt", "kswapd", "cpuhp/"}

func kernelThread(pid, ppid int, ticks uint64, comm string) Proc {
	return Proc{PID: pid, PPID: ppid, Comm: comm, State: 'I', StartTicks: ticks, NetNS: HostNetNS}
}

// program is one kind of command line Generate uses.
type program struct {
	exe  string
	argv func(r *rand.Rand, _ int) []string
	raw  bool // argv rewritten: one string with spaces, no NULs
}

var programs = []program{
	{exe: "/usr/lib/systemd/systemd", argv: func(*rand.Rand, int) []string { return []string{"/sbin/init", "splash"} }},
	{exe: "/usr/bin/python3.12", argv: func(r *rand.Rand, _ int) []string {
		return []string{"python3", fmt.Sprintf("/srv/app%d/worker.py", r.IntN(40)), "--port", strconv.Itoa(8000 + r.IntN(1000))}
	}},
	{exe: "/usr/lib/jvm/java-21/bin/java", argv: func(r *rand.Rand, _ int) []string {
		return []string{"/usr/bin/java", "-Xmx512m", "-jar", fmt.Sprintf("/opt/svc%d/app.jar", r.IntN(30))}
	}},
	{exe: "/usr/sbin/nginx", raw: true, argv: func(*rand.Rand, int) []string { return []string{"nginx: worker process"} }},
	{exe: "/usr/sbin/sshd", argv: func(*rand.Rand, int) []string {
		return []string{"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"}
	}},
	{exe: "/usr/bin/bash", argv: func(*rand.Rand, int) []string { return []string{"-bash"} }},
	{exe: "/usr/bin/sleep", argv: func(r *rand.Rand, _ int) []string { return []string{"sleep", strconv.Itoa(r.IntN(10000))} }},
	{exe: "/usr/local/bin/node", argv: func(r *rand.Rand, _ int) []string {
		return []string{"node", fmt.Sprintf("./dist/server%d.js", r.IntN(20))}
	}},
	{exe: "/usr/bin/containerd-shim-runc-v2", argv: func(r *rand.Rand, _ int) []string {
		return []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", hex64(r)[:12]}
	}},
	{exe: "/opt/weird/my (odd) prog", argv: func(*rand.Rand, int) []string { return []string{"/opt/weird/my (odd) prog", "-x"} }},
}

func userProc(pid, ppid int, ticks uint64, uid int, ns uint64, cgroup string, r *rand.Rand) Proc {
	prog := programs[0]
	if pid != 1 {
		prog = programs[1+r.IntN(len(programs)-1)]
	}
	argv := prog.argv(r, pid)
	comm := lastElem(prog.exe)
	if len(comm) > 15 {
		comm = comm[:15]
	}
	p := Proc{
		PID: pid, PPID: ppid, Comm: comm, State: 'S', StartTicks: ticks,
		Exe: prog.exe, UID: uid, GID: uid, NetNS: ns, Cgroup: cgroup,
		Environ: []string{"PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8"},
		FDs: []FD{
			{Num: 0, Target: "/dev/null"},
			{Num: 1, Target: "pipe:[" + strconv.Itoa(100000+pid) + "]"},
			{Num: 2, Target: "pipe:[" + strconv.Itoa(100000+pid) + "]"},
			{Num: 3, Target: "anon_inode:[eventfd]"},
		},
		Threads: 1 + r.IntN(8),
	}
	if prog.raw {
		p.RawCmdline = argv[0]
	} else {
		p.Argv = argv
	}
	return p
}

func lastElem(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}

func hex64(r *rand.Rand) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 64)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}

// containerRoot names the root filesystem of the container in namespace ns.
func containerRoot(ns uint64) string {
	return "container-" + strconv.FormatUint(ns, 10)
}

func containerCgroup(ns uint64, r *rand.Rand) string {
	id := hex64(rand.New(rand.NewPCG(ns, 1))) // one container per namespace
	if ns%2 == 0 {
		return "0::/system.slice/docker-" + id + ".scope\n"
	}
	pod := fmt.Sprintf("%08x_%04x_%04x_%04x_%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
	return "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + pod +
		".slice/cri-containerd-" + id + ".scope\n"
}

func randomSock(r *rand.Rand, inode uint64) (Proto, SockEntry) {
	e := SockEntry{Inode: inode, Ref: 1 + r.IntN(2), Pointer: r.Uint64() | 1<<63,
		RTO: 200, ATO: 40, Cwnd: 10, Ssthresh: -1, Timeout: 0}
	var proto Proto
	switch n := r.IntN(20); {
	case n < 12:
		proto = TCP
	case n < 16:
		proto = TCP6
	case n < 19:
		proto = UDP
	default:
		proto = UDP6
	}
	v6 := proto == TCP6 || proto == UDP6
	local := randomAddr(r, v6)
	if proto == UDP || proto == UDP6 {
		e.RTO, e.ATO, e.Cwnd, e.Ssthresh = 0, 0, 0, 0
		e.Bucket = r.IntN(65536)
		e.State = TCPClose
		e.Local = netip.AddrPortFrom(local, uint16(1024+r.IntN(60000)))
		e.Remote = netip.AddrPortFrom(zeroAddr(v6), 0)
		if r.IntN(3) == 0 {
			e.State = TCPEstablished
			e.Remote = netip.AddrPortFrom(randomAddr(r, v6), 53)
		}
		return proto, e
	}
	if r.IntN(10) == 0 {
		e.State = TCPListen
		e.Local = netip.AddrPortFrom(local, uint16(1+r.IntN(30000)))
		e.Remote = netip.AddrPortFrom(zeroAddr(v6), 0)
		e.Ssthresh = 4096
		return proto, e
	}
	e.State = TCPEstablished
	e.Local = netip.AddrPortFrom(local, uint16(32768+r.IntN(28000)))
	e.Remote = netip.AddrPortFrom(randomAddr(r, v6), uint16(1+r.IntN(30000)))
	e.Timer, e.When = 2, uint64(r.IntN(7200*100))
	return proto, e
}

func zeroAddr(v6 bool) netip.Addr {
	if v6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

func randomAddr(r *rand.Rand, v6 bool) netip.Addr {
	a4 := [4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))}
	if r.IntN(8) == 0 {
		a4 = [4]byte{127, 0, 0, 1}
	}
	if !v6 {
		return netip.AddrFrom4(a4)
	}
	if r.IntN(3) == 0 {
		return netip.AddrFrom16(netip.AddrFrom4(a4).As16()) // IPv4-mapped
	}
	var a16 [16]byte
	a16[0], a16[1], a16[15] = 0xfd, 0x00, byte(1+r.IntN(254))
	a16[7] = byte(r.IntN(256))
	return netip.AddrFrom16(a16)
}
