package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/snapshot"
)

// startServer starts the test binary as "proctag-e2e-server", which listens
// on loopback and starts a "proctag-e2e-client" child connected to it. It
// returns the server's pid, the child's pid and the listening port once the
// connection is accepted; the processes end with the test.
func startServer(t *testing.T) (server, client, port int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Args = []string{"proctag-e2e-server", "--role", "server"}
	cmd.Env = append(os.Environ(), "PROCTAG_E2E_ROLE=server")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server child: %v", err)
	}
	if _, err := fmt.Sscanf(line, "ready %d %d", &port, &client); err != nil {
		t.Fatalf("server child said %q", line)
	}
	return cmd.Process.Pid, client, port
}

// TestScanLiveProcesses runs `proctag scan` on this machine's /proc with
// rules that keep only the two spawned processes, and checks that the agent
// sees exactly them, with their parent, rule-given names and sockets.
func TestScanLiveProcesses(t *testing.T) {
	server, client, port := startServer(t)
	cfg := writeFile(t, "live.yaml", `
os-proc-sync-enabled: true
os-proc-socket-min-lifetime: 0
os-proc-regex:
  - match-regex: ^proctag-e2e-client$
    rewrite-name: e2e-worker
  - match-regex: '^proctag-e2e-server --role (\w+)$'
    match-type: cmdline
    rewrite-name: e2e-$1
  - match-regex: ""
    action: drop
`)
	out, err := execute(t, "scan", "--config", cfg, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var snap snapshot.Snapshot
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Processes) != 2 {
		t.Fatalf("reported %d processes, want exactly the 2 spawned ones: %+v", len(snap.Processes), snap.Processes)
	}
	byPID := map[int]snapshot.Process{}
	for _, p := range snap.Processes {
		byPID[p.PID] = p
	}
	sp, cp := byPID[server], byPID[client]
	if sp.Name != "e2e-server" || sp.ProcessName != "proctag-e2e-server" || sp.MatchedRule != 1 || sp.PPID != os.Getpid() {
		t.Errorf("server process = %+v, want name e2e-server, rule 1, ppid %d", sp, os.Getpid())
	}
	if cp.Name != "e2e-worker" || cp.PPID != server || cp.Cmdline != fmt.Sprintf("proctag-e2e-client --connect %d", port) || cp.MatchedRule != 0 {
		t.Errorf("client process = %+v, want name e2e-worker, ppid %d", cp, server)
	}
	if sp.UID != os.Getuid() || sp.Exe == "" || sp.NetNSID == 0 {
		t.Errorf("server process lacks uid/exe/netns: %+v", sp)
	}

	var listen, accepted, dialed bool
	for _, s := range snap.Sockets {
		switch {
		case s.State == "LISTEN" && s.LocalPort == uint16(port):
			listen = s.Role == "server" && pidsAre(s.PIDs, server)
		case s.State == "ESTABLISHED" && s.LocalPort == uint16(port):
			accepted = s.Role == "server" && pidsAre(s.PIDs, server) && s.RemoteIP == "127.0.0.1"
		case s.State == "ESTABLISHED" && s.RemotePort == uint16(port):
			dialed = s.Role == "client" && pidsAre(s.PIDs, client)
		default:
			t.Errorf("unexpected socket of the spawned processes: %+v", s)
		}
	}
	if !listen || !accepted || !dialed {
		t.Errorf("sockets: listener %v, accepted %v, dialed %v; want all true: %+v", listen, accepted, dialed, snap.Sockets)
	}
}

func pidsAre(got []int, want ...int) bool {
	return fmt.Sprint(got) == fmt.Sprint(want)
}

// TestExplainLiveProcess explains the spawned client: the rule that named it
// and the rules before it.
func TestExplainLiveProcess(t *testing.T) {
	_, client, _ := startServer(t)
	cfg := writeFile(t, "explain.yaml", `
os-proc-socket-min-lifetime: 0
os-proc-regex:
  - match-regex: ^sshd$
    action: drop
  - match-regex: ^proctag-e2e-(\w+)$
    rewrite-name: e2e-$1
`)
	out, err := execute(t, "explain", "--config", cfg, "--pid", fmt.Sprint(client))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"proctag-e2e-client", "e2e-client"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	if _, err := execute(t, "explain", "--config", cfg, "--pid", "999999999"); err == nil {
		t.Error("explain of a pid that does not exist succeeded")
	}
}
