package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/proctag/proctag/agent/snapshot"
)

// simOptions size the simulated hosts.
type simOptions struct {
	// hosts is the fleet's size; procs and sockets each host's.
	hosts, procs, sockets int
	// seed makes the generated fleet and each host's churn the same from
	// run to run.
	seed uint64
	// network is every host's Host.Network.
	network string
}

// netnsID is every host's network namespace inode: the initial namespace
// has the same inode (PROC_NET_INIT_INO) on every Linux host.
const netnsID = 4026531840

// service is a server program a host may run: its process name, command
// line, user and port, and how many processes it runs (the first is the
// master, owning the listener; accepted connections go to any of them).
type service struct {
	name, cmdline, user string
	uid                 int
	port                uint16
	procs               int
}

// services are what the hosts run, servicesPerHost of them each.
var services = []service{
	{"nginx", "/usr/sbin/nginx -g daemon off;", "www-data", 33, 80, 5},
	{"postgres", "/usr/lib/postgresql/16/bin/postgres -D /var/lib/postgresql/16/main", "postgres", 113, 5432, 12},
	{"redis-server", "/usr/bin/redis-server 0.0.0.0:6379", "redis", 114, 6379, 1},
	{"java", "/usr/bin/java -Xmx2g -jar /opt/orders/orders.jar --server.port=8080", "app", 1000, 8080, 1},
	{"node", "/usr/bin/node /srv/web/server.js", "app", 1000, 3000, 4},
	{"gunicorn", "/usr/bin/python3 /usr/bin/gunicorn -w 4 -b 0.0.0.0:8000 api.wsgi", "app", 1000, 8000, 5},
	{"memcached", "/usr/bin/memcached -m 1024 -p 11211 -u memcache", "memcache", 115, 11211, 1},
	{"envoy", "/usr/local/bin/envoy -c /etc/envoy/envoy.yaml", "envoy", 116, 9901, 2},
}

const servicesPerHost = 4

// daemons are the system processes of every host (uid 0 unless named).
var daemons = []string{
	"/lib/systemd/systemd-journald", "/lib/systemd/systemd-udevd", "/lib/systemd/systemd-logind",
	"/usr/sbin/sshd -D", "/usr/sbin/cron -f", "/usr/sbin/rsyslogd -n", "/usr/bin/dbus-daemon --system",
	"/usr/sbin/chronyd -F 1", "/usr/bin/containerd", "/usr/local/bin/node_exporter", "/usr/sbin/irqbalance --foreground",
	"/usr/lib/policykit-1/polkitd --no-debug", "/usr/bin/proctag run --config /etc/proctag/proctag.yaml",
}

// jobCmdlines are the short-lived processes churn starts and ends.
var jobCmdlines = []string{
	"/bin/sh -c /usr/local/bin/backup.sh", "/usr/bin/sleep 30", "/usr/bin/python3 /opt/jobs/report.py --daily",
	"/usr/bin/curl -sf http://localhost/healthz", "/bin/bash /opt/deploy/rotate-logs.sh", "/usr/bin/find /var/tmp -mtime +7",
}

// conn is one TCP connection from client host to server host (the same
// host for a loopback connection), with both ends' socket inodes.
type conn struct {
	client, server           int
	clientPort, serverPort   uint16
	clientInode, serverInode uint64
}

// simHost is one simulated host's current state. Its slices are replaced,
// never modified, once handed out in a snapshot.
type simHost struct {
	index                     int
	id, hostname, ip, network string
	bootTime                  int64
	addrs                     []snapshot.NetNSAddrs
	rng                       *rand.Rand

	procs []snapshot.Process // sorted by pid
	socks []snapshot.Socket  // sorted in snapshot order
	// addSocks and delSocks are the changes to socks not yet in a
	// snapshot (from this host's churn or from a peer's).
	addSocks    []snapshot.Socket
	delSocks    map[uint64]bool
	procsNew    bool // procs changed since the last snapshot
	procsShared bool // procs is in a snapshot: copy it before a change

	svcs      []int          // indexes in services
	svcPIDs   map[int][]int  // service index -> its pids, master first
	pids      map[int][]int  // pid -> the one-element slice shared by its sockets
	jobs      []int          // pids of the job processes
	out       []conn         // connections this host is the client of, to other hosts
	loops     []conn         // loopback connections
	nextPID   int            // pid of the next process started
	nextPort  uint16         // next ephemeral port
	nextInode uint64         // next socket inode
	listening map[uint16]int // port -> service index
}

// fleet is the simulated hosts. One mutex guards every host: a change on
// one host (a connection opened or closed) changes its peer's sockets too.
type fleet struct {
	mu    sync.Mutex
	hosts []*simHost
	// gen counts the stops of the churn (agents.stopChurn).
	gen uint64
}

// hostIP is host i's address on eth0, in 10.1.0.0/16.
func hostIP(i int) string { return fmt.Sprintf("10.1.%d.%d", i/250, i%250+1) }

// newFleet generates o.hosts hosts, each with about o.procs processes
// and o.sockets sockets: listeners of its services, loopback connections
// (a tenth of its sockets), and client connections to the listeners of
// other hosts, whose server ends are on those hosts.
func newFleet(o simOptions, now time.Time) *fleet {
	f := &fleet{}
	for i := range o.hosts {
		f.hosts = append(f.hosts, newSimHost(i, o, now))
	}
	loopPairs := o.sockets / 20
	for _, h := range f.hosts {
		for range loopPairs {
			f.openLoop(h)
		}
	}
	// Each connection puts a socket on both of its hosts.
	for _, h := range f.hosts {
		out := max((o.sockets-servicesPerHost-2*loopPairs)/2, 0)
		for range out {
			f.openOut(h)
		}
	}
	for _, h := range f.hosts {
		h.flush()
	}
	return f
}

// newSimHost is host i with its processes and listeners.
func newSimHost(i int, o simOptions, now time.Time) *simHost {
	rng := rand.New(rand.NewPCG(o.seed, uint64(i)))
	h := &simHost{
		index: i, id: fmt.Sprintf("sim-%04d", i), ip: hostIP(i), network: o.network, rng: rng,
		bootTime: now.Add(-time.Duration(1+rng.IntN(90*24)) * time.Hour).UnixMilli(),
		delSocks: map[uint64]bool{}, svcPIDs: map[int][]int{}, pids: map[int][]int{},
		listening: map[uint16]int{}, nextPID: 2, nextPort: 32768, nextInode: 10_000_000,
	}
	h.hostname = h.id + ".fleet.example"
	h.addrs = []snapshot.NetNSAddrs{{NetNSID: netnsID, Addrs: []snapshot.Addr{
		{IP: h.ip, PrefixLen: 16, Interface: "eth0"},
		{IP: "127.0.0.1", PrefixLen: 8, Interface: "lo"},
		{IP: "::1", PrefixLen: 128, Interface: "lo"},
	}}}
	h.procs = append(h.procs, h.process(1, 0, "/sbin/init splash", "root", 0, h.bootTime))
	for _, cmd := range daemons {
		h.startProcess(1, cmd, "root", 0, h.startedBefore(now))
	}
	for _, s := range rng.Perm(len(services))[:servicesPerHost] {
		svc := services[s]
		h.svcs = append(h.svcs, s)
		master := h.startProcess(1, svc.cmdline, svc.user, svc.uid, h.startedBefore(now))
		h.svcPIDs[s] = []int{master}
		for range svc.procs - 1 {
			h.svcPIDs[s] = append(h.svcPIDs[s], h.startProcess(master, svc.cmdline, svc.user, svc.uid, h.startedBefore(now)))
		}
		h.listening[svc.port] = s
		h.addSocks = append(h.addSocks, snapshot.Socket{Proto: "tcp", LocalIP: "0.0.0.0", LocalPort: svc.port,
			RemoteIP: "0.0.0.0", State: "LISTEN", Role: "server", Inode: h.inode(), PIDs: h.pids[master], NetNSID: netnsID})
	}
	for len(h.procs) < o.procs {
		h.startJob(h.startedBefore(now))
	}
	return h
}

// startedBefore is a start time between the boot and now, unix ms.
func (h *simHost) startedBefore(now time.Time) int64 {
	return h.bootTime + h.rng.Int64N(max(now.UnixMilli()-h.bootTime, 1))
}

func (h *simHost) inode() uint64 { h.nextInode++; return h.nextInode }

// process is one process record; its name is the last element of argv[0].
func (h *simHost) process(pid, ppid int, cmdline, user string, uid int, start int64) snapshot.Process {
	argv0 := cmdline
	for i := range len(cmdline) {
		if cmdline[i] == ' ' {
			argv0 = cmdline[:i]
			break
		}
	}
	name := argv0
	for i := len(argv0) - 1; i >= 0; i-- {
		if argv0[i] == '/' {
			name = argv0[i+1:]
			break
		}
	}
	h.pids[pid] = []int{pid}
	return snapshot.Process{PID: pid, PPID: ppid, StartTime: start, Name: name, ProcessName: name, Cmdline: cmdline,
		Exe: argv0, User: user, UID: uid, NetNSID: netnsID, MatchedRule: -1}
}

// startProcess adds a process with the next pid and returns its pid.
func (h *simHost) startProcess(ppid int, cmdline, user string, uid int, start int64) int {
	pid := h.nextPID
	h.nextPID++
	h.ownProcs()
	h.procs = append(h.procs, h.process(pid, ppid, cmdline, user, uid, start)) // pids grow: still sorted
	return pid
}

// ownProcs makes procs a slice no snapshot holds, before it changes.
func (h *simHost) ownProcs() {
	if h.procsShared {
		h.procs = slices.Clone(h.procs)
		h.procsShared = false
	}
	h.procsNew = true
}

// startJob starts a short-lived process under cron or sshd.
func (h *simHost) startJob(start int64) {
	cmd := jobCmdlines[h.rng.IntN(len(jobCmdlines))]
	h.jobs = append(h.jobs, h.startProcess(2+h.rng.IntN(len(daemons)), cmd, "root", 0, start))
}

// endJob ends a random job process.
func (h *simHost) endJob() {
	if len(h.jobs) == 0 {
		return
	}
	k := h.rng.IntN(len(h.jobs))
	pid := h.jobs[k]
	h.jobs[k] = h.jobs[len(h.jobs)-1]
	h.jobs = h.jobs[:len(h.jobs)-1]
	h.ownProcs()
	h.procs = slices.DeleteFunc(h.procs, func(p snapshot.Process) bool { return p.PID == pid })
	delete(h.pids, pid)
}

// port is the next ephemeral port of the host.
func (h *simHost) port() uint16 {
	p := h.nextPort
	h.nextPort++
	if h.nextPort > 60999 {
		h.nextPort = 32768
	}
	return p
}

// anySvcPID is a random process of a random service of h, and its port.
func (h *simHost) anySvc() (pid int, port uint16) {
	s := h.svcs[h.rng.IntN(len(h.svcs))]
	ps := h.svcPIDs[s]
	return ps[h.rng.IntN(len(ps))], services[s].port
}

// openOut opens a connection from a process of h to a service of another
// host chosen at random: the client socket on h, the server socket on the
// peer.
func (f *fleet) openOut(h *simHost) {
	if len(f.hosts) < 2 {
		return
	}
	peer := f.hosts[(h.index+1+h.rng.IntN(len(f.hosts)-1))%len(f.hosts)]
	h.out = append(h.out, f.addConn(h, peer))
}

// openLoop opens a connection from a process of h to one of its own
// services over 127.0.0.1.
func (f *fleet) openLoop(h *simHost) {
	h.loops = append(h.loops, f.addConn(h, h))
}

// addConn opens a connection from a process of client to a service of
// server and adds both ends: the client's socket to client, the server's
// to server (the 4-tuple reversed).
func (f *fleet) addConn(client, server *simHost) conn {
	clientPID, _ := client.anySvc()
	serverPID, port := server.anySvc()
	c := conn{client: client.index, server: server.index, clientPort: client.port(), serverPort: port,
		clientInode: client.inode(), serverInode: server.inode()}
	cip, sip := client.ip, server.ip
	if client == server {
		cip, sip = "127.0.0.1", "127.0.0.1"
	}
	client.addSocks = append(client.addSocks, snapshot.Socket{Proto: "tcp", LocalIP: cip, LocalPort: c.clientPort,
		RemoteIP: sip, RemotePort: c.serverPort, State: "ESTABLISHED", Role: "client", Inode: c.clientInode,
		PIDs: client.pids[clientPID], NetNSID: netnsID})
	server.addSocks = append(server.addSocks, snapshot.Socket{Proto: "tcp", LocalIP: sip, LocalPort: c.serverPort,
		RemoteIP: cip, RemotePort: c.clientPort, State: "ESTABLISHED", Role: "server", Inode: c.serverInode,
		PIDs: server.pids[serverPID], NetNSID: netnsID})
	return c
}

// closeRandom closes a random connection of list (swap-delete), both
// ends, and returns the shortened list.
func (f *fleet) closeRandom(h *simHost, list []conn) []conn {
	if len(list) == 0 {
		return list
	}
	k := h.rng.IntN(len(list))
	c := list[k]
	list[k] = list[len(list)-1]
	f.hosts[c.client].delSocks[c.clientInode] = true
	f.hosts[c.server].delSocks[c.serverInode] = true
	return list[:len(list)-1]
}

// churn changes host h as a busy host changes in one tick: jobs end and
// start, and conns of its connections to other hosts (and a tenth as
// many loopback ones) close and as many new ones open. The peers' ends
// change with them, in the peers' next snapshots.
func (f *fleet) churn(h *simHost, jobs, conns int, now time.Time) {
	for range jobs {
		h.endJob()
		h.startJob(now.UnixMilli())
	}
	for range conns {
		h.out = f.closeRandom(h, h.out)
		f.openOut(h)
	}
	for range max(conns/10, 1) {
		h.loops = f.closeRandom(h, h.loops)
		f.openLoop(h)
	}
}

// flush applies the pending socket changes: socks becomes a new sorted
// slice. It reports whether anything changed.
func (h *simHost) flush() bool {
	if len(h.addSocks) == 0 && len(h.delSocks) == 0 {
		return false
	}
	socks := make([]snapshot.Socket, 0, len(h.socks)+len(h.addSocks))
	for _, s := range h.socks {
		if !h.delSocks[s.Inode] {
			socks = append(socks, s)
		}
	}
	for _, s := range h.addSocks {
		if !h.delSocks[s.Inode] { // opened and closed before a snapshot
			socks = append(socks, s)
		}
	}
	(&snapshot.Snapshot{Sockets: socks}).Sort()
	h.socks, h.addSocks = socks, nil
	clear(h.delSocks)
	return true
}

// snapshot is h's state now: a new Snapshot, sharing the slices of the
// previous one where they did not change. changed is false when nothing
// but the scan time differs from the previous one.
func (h *simHost) snapshot(now time.Time, epoch string, interval time.Duration) (s *snapshot.Snapshot, changed bool) {
	changed = h.flush() || h.procsNew
	h.procsNew, h.procsShared = false, true
	return &snapshot.Snapshot{
		Host: snapshot.Host{HostID: h.id, Hostname: h.hostname, Epoch: epoch, ScanTime: now,
			IntervalMS: interval.Milliseconds(), BootTime: h.bootTime, AgentVersion: "fleet-sim", Network: h.network},
		Processes: h.procs, Sockets: h.socks, Addresses: h.addrs,
	}, changed
}
