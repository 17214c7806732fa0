package snapshot

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// synth builds a realistic host state with procs processes and socks
// sockets, deterministic for a seed, sorted as Sort documents.
func synth(procs, socks int, seed uint64) *Snapshot {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	names := []string{"nginx", "postgres", "java", "python3", "node", "sshd", "systemd", "redis-server", "envoy", "kubelet"}
	s := &Snapshot{Host: Host{
		HostID: "host-a", Hostname: "a.example", Epoch: "0000018c0a1b2c3d-1f2e3d4c",
		ScanTime: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), IntervalMS: 10000,
		BootTime: 1764000000000, AgentVersion: "test",
	}}
	s.Processes = make([]Process, procs)
	for i := range s.Processes {
		name := names[r.IntN(len(names))]
		p := Process{
			PID: 100 + i*3, PPID: 1 + r.IntN(100), StartTime: 1764000000000 + int64(r.IntN(1_000_000)),
			Name: name, ProcessName: name,
			Cmdline: fmt.Sprintf("/usr/bin/%s --config /etc/%s/%s.conf --workers %d", name, name, name, r.IntN(64)),
			Exe:     "/usr/bin/" + name,
			User:    "svc", UID: 1000 + r.IntN(5), NetNSID: 4026531840 + uint64(r.IntN(4)),
			MatchedRule: r.IntN(3) - 1,
		}
		if r.IntN(3) == 0 {
			p.ContainerID = fmt.Sprintf("%064x", r.Uint64())
			p.Tags = map[string]string{"app": name, "team": names[r.IntN(len(names))]}
		}
		s.Processes[i] = p
	}
	s.Sockets = make([]Socket, socks)
	for i := range s.Sockets {
		owner := s.Processes[r.IntN(max(procs, 1))%max(procs, 1)]
		sock := Socket{
			Proto: "tcp", LocalIP: fmt.Sprintf("10.0.%d.%d", r.IntN(4), 1+r.IntN(250)), LocalPort: uint16(1024 + r.IntN(60000)),
			RemoteIP: fmt.Sprintf("10.1.%d.%d", r.IntN(200), 1+r.IntN(250)), RemotePort: uint16(1 + r.IntN(60000)),
			State: "ESTABLISHED", Role: "client", Inode: uint64(100000 + i), PIDs: []int{owner.PID}, NetNSID: owner.NetNSID,
		}
		if i%50 == 0 {
			sock.State, sock.Role, sock.RemoteIP, sock.RemotePort = "LISTEN", "server", "0.0.0.0", 0
		}
		s.Sockets[i] = sock
	}
	s.Sort()
	return s
}

// churn returns a copy of s where n processes exited, n started, n changed
// and 10n sockets were replaced, with a later scan time.
func churn(s *Snapshot, n int, seed uint64) *Snapshot {
	r := rand.New(rand.NewPCG(seed, 7))
	next := &Snapshot{Host: s.Host}
	next.Host.ScanTime = s.Host.ScanTime.Add(10 * time.Second)
	next.Processes = append([]Process(nil), s.Processes[n:]...)
	for i := range n {
		p := s.Processes[i]
		p.PID = 1_000_000 + i
		p.StartTime += 5000
		next.Processes = append(next.Processes, p)
	}
	for range n {
		j := r.IntN(len(next.Processes) - n)
		next.Processes[j].Name += "-renamed"
	}
	next.Sockets = append([]Socket(nil), s.Sockets[10*n:]...)
	for i := range 10 * n {
		sk := s.Sockets[i]
		sk.Inode = uint64(10_000_000 + i)
		next.Sockets = append(next.Sockets, sk)
	}
	next.Sort()
	return next
}
