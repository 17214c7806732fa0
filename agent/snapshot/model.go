package snapshot

import "time"

// Snapshot is the complete state of one host at one scan: what `proctag scan`
// prints and what a full snapshot message carries. Processes are sorted by
// PID then StartTime; Sockets by NetNSID, Proto, local address, remote
// address, Inode. A Snapshot is a plain value: it is not safe to modify
// concurrently, and producers hand out fresh ones each tick.
type Snapshot struct {
	Host      Host      `json:"host"`
	Processes []Process `json:"processes"`
	Sockets   []Socket  `json:"sockets"`
	// SocketRows, when not nil, are the sockets in the compact form a
	// producer keeps, in place of Sockets, which is then nil. WriteJSON,
	// the Encoder, Diff, Apply and Clone read either; encoding/json sees
	// only Sockets. A decoded snapshot has none.
	SocketRows []SocketRow `json:"-"`
	// Addresses are the interface addresses of the host's network
	// namespaces that the agent could read (its own at least), sorted by
	// NetNSID, so that a listener on 0.0.0.0 can be matched to a connection
	// to one of them. Omitted by producers that do not read them.
	Addresses []NetNSAddrs `json:"addresses,omitempty"`
	// Closed are the TCP connections of reported processes that opened
	// and closed since the previous tick, so never were in Sockets (see
	// Connection); empty without an event source that sees them.
	// Closed is not state: it is what happened during one interval, and a
	// Delta carries the next tick's own list.
	Closed []Connection `json:"closed,omitempty"`
	// ClosedDropped counts the short connections of this interval left
	// out of Closed by the agent's cap.
	ClosedDropped int `json:"closed_dropped,omitempty"`
}

// NumSockets returns how many sockets s holds, in either form.
func (s *Snapshot) NumSockets() int { return len(s.Sockets) + len(s.SocketRows) }

// SocketList returns the sockets of s as Sockets: Sockets itself, or a new
// list made from SocketRows.
func (s *Snapshot) SocketList() []Socket {
	if s.SocketRows != nil {
		return Sockets(s.SocketRows)
	}
	return s.Sockets
}

// Host describes the agent and the machine a snapshot was taken on.
type Host struct {
	// HostID is the sanitised host id (config `host-id` or /etc/machine-id);
	// OTel host.id.
	HostID string `json:"host_id"`
	// Hostname is the kernel's host name; OTel host.name.
	Hostname string `json:"hostname"`
	// Epoch changes at every agent start; it is empty for `proctag scan`.
	Epoch string `json:"epoch,omitempty"`
	// ScanTime is when the scan that produced this state started.
	ScanTime time.Time `json:"scan_time"`
	// Interval is the configured tick interval, in milliseconds.
	IntervalMS int64 `json:"interval_ms,omitempty"`
	// BootTime is the kernel boot time (btime of /proc/stat), unix ms.
	BootTime int64 `json:"boot_time,omitempty"`
	// AgentVersion is the proctag version that produced the snapshot.
	AgentVersion string `json:"agent_version,omitempty"`
	// Network is the address domain the host's addresses belong to (config
	// `network`, e.g. a VPC's name), so that equal private addresses of
	// hosts in different networks are told apart; empty when not set.
	Network string `json:"network,omitempty"`
}

// NetNSAddrs is the interface addresses of one network namespace.
type NetNSAddrs struct {
	// NetNSID is the namespace's inode, as in Process.NetNSID.
	NetNSID uint64 `json:"netns_id"`
	// Addrs are its addresses, sorted by IP (IPv4 before IPv6) then
	// interface name.
	Addrs []Addr `json:"addrs"`
}

// Addr is one address of a network interface.
type Addr struct {
	// IP is the address, IPv4 dotted or IPv6 in RFC 5952 form.
	IP string `json:"ip"`
	// PrefixLen is the length of the interface's network prefix.
	PrefixLen int `json:"prefix_len"`
	// Interface is the interface's name (lo, eth0, ...).
	Interface string `json:"if"`
}

// Key identifies a process across time: the kernel reuses pids, never the
// pair (pid, start time).
type Key struct {
	PID       int   `json:"pid"`
	StartTime int64 `json:"start_time"`
}

// Process is one reported process, after rules and plugins.
type Process struct {
	// PID is the process id in the agent's pid namespace; OTel process.pid.
	PID int `json:"pid"`
	// PPID is the parent's pid; OTel process.parent_pid.
	PPID int `json:"ppid"`
	// StartTime is when the process started, unix milliseconds, derived
	// from /proc/PID/stat starttime and the boot time; OTel
	// process.creation.time. (PID, StartTime) is the process identity.
	StartTime int64 `json:"start_time"`
	// Name is the name after rules and plugins; OTel process.executable.name
	// is ProcessName, Name has no OTel equivalent (service-like name).
	Name string `json:"name"`
	// ProcessName is the last path element of argv[0] (DeepFlow's
	// process_name); OTel process.executable.name.
	ProcessName string `json:"process_name"`
	// Cmdline is argv joined by single spaces, after redaction; OTel
	// process.command_line.
	Cmdline string `json:"cmdline"`
	// Exe is the target of /proc/PID/exe, empty when unreadable; OTel
	// process.executable.path.
	Exe string `json:"exe,omitempty"`
	// User is UID's name in the passwd file of the process's own root
	// (/proc/PID/root/etc/passwd, so a container's users are named as the
	// container names them), empty when it has none — as DeepFlow reports
	// it; OTel process.owner.
	User string `json:"user,omitempty"`
	// UID is the owner of /proc/PID: the effective uid, or 0 for a process
	// that is not dumpable — what DeepFlow reports (the Rust procfs crate's
	// Process::uid); OTel process.user.id.
	UID int `json:"uid"`
	// NetNSID is the inode of /proc/PID/ns/net, 0 when unreadable.
	NetNSID uint64 `json:"netns_id,omitempty"`
	// ContainerID is the container id found in /proc/PID/cgroup, or empty;
	// OTel container.id.
	ContainerID string `json:"container_id,omitempty"`
	// Tags are the process's tags: its own (tag exec, plugins) and the ones
	// inherited from reported ancestors.
	Tags map[string]string `json:"tags,omitempty"`
	// MatchedRule is the index in os-proc-regex of the rule that accepted
	// the process, or -1 when the implicit accept-all rule did.
	MatchedRule int `json:"matched_rule"`
	// Exited is when the process exited, unix milliseconds, for a process
	// that the agent read at its fork or exec and that exited before the
	// tick: it is in this one state so that it is seen at all, and
	// removed by the next. 0 for a live process.
	Exited int64 `json:"exited,omitempty"`
}

// Key returns the process identity.
func (p *Process) Key() Key { return Key{PID: p.PID, StartTime: p.StartTime} }

// Socket is one TCP or UDP socket owned by reported processes.
type Socket struct {
	// Proto is tcp, tcp6, udp or udp6; OTel network.transport plus
	// network.type.
	Proto string `json:"proto"`
	// LocalIP and LocalPort are the local address; OTel network.local.*.
	LocalIP   string `json:"local_ip"`
	LocalPort uint16 `json:"local_port"`
	// RemoteIP and RemotePort are the peer address (unspecified for a
	// listener); OTel network.peer.*.
	RemoteIP   string `json:"remote_ip"`
	RemotePort uint16 `json:"remote_port"`
	// State is the kernel's state name: LISTEN, ESTABLISHED, ... (UDP
	// sockets are CLOSE when unconnected, ESTABLISHED when connected).
	State string `json:"state"`
	// Role is server when the local port has a listener in the same netns
	// owned by the same processes, else client.
	Role string `json:"role"`
	// Inode is the socket inode, the socket's identity.
	Inode uint64 `json:"inode"`
	// PIDs are the reported processes that hold the socket, ascending.
	PIDs []int `json:"pids"`
	// NetNSID is the network namespace inode the socket lives in.
	NetNSID uint64 `json:"netns_id,omitempty"`
}

// Connection is one end of a short TCP connection: a socket that reached
// ESTABLISHED by connect() or accept() and closed between two ticks, with
// the process that connected or accepted it.
type Connection struct {
	// Proto is tcp or tcp6.
	Proto string `json:"proto"`
	// LocalIP, LocalPort, RemoteIP and RemotePort are the 4-tuple from
	// this end's side; IPv4-mapped IPv6 addresses are given as IPv4.
	LocalIP    string `json:"local_ip"`
	LocalPort  uint16 `json:"local_port"`
	RemoteIP   string `json:"remote_ip"`
	RemotePort uint16 `json:"remote_port"`
	// Role is client for the end that called connect(), server for the
	// end that accept() returned.
	Role string `json:"role"`
	// NetNSID is the network namespace inode the socket lived in.
	NetNSID uint64 `json:"netns_id,omitempty"`
	// Cookie is the kernel's socket cookie, unique per socket while the
	// host runs.
	Cookie uint64 `json:"cookie"`
	// PID and StartTime are the process that connected or accepted (its
	// Key), Name its name as the rules and plugins gave it.
	PID       int    `json:"pid"`
	StartTime int64  `json:"start_time"`
	Name      string `json:"name"`
	// Opened and Closed are when the connection was established and
	// closed, unix milliseconds.
	Opened int64 `json:"opened"`
	Closed int64 `json:"closed"`
}
