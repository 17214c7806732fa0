package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/caps"
	"github.com/proctag/proctag/agent/internal/runner/runnertest"
	"github.com/proctag/proctag/agent/internal/scan"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// The unit and its drop-in, as shipped.
const (
	unitPath    = "../../deploy/systemd/proctag.service"
	tagExecPath = "../../deploy/systemd/tag-exec.conf"
)

// privVersion is stamped into the agent the privilege test builds.
const privVersion = "v0.0.0-privilege-test"

// unitService reads the [Service] settings of a systemd unit file or
// drop-in: each key's values in order (a key may repeat).
func unitService(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	section := ""
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		case section == "Service":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is not key=value", path, line)
			}
			out[k] = append(out[k], v)
		}
	}
	return out
}

// unitCaps parses the capability names of every key line into a set.
func unitCaps(t *testing.T, values []string) caps.Set {
	t.Helper()
	var s caps.Set
	for _, v := range values {
		for _, name := range strings.Fields(v) {
			c, err := caps.Parse(name)
			if err != nil {
				t.Fatal(err)
			}
			s |= caps.Of(c)
		}
	}
	return s
}

// TestUnitGrantsExactlyWhatTheAgentNeeds reads the shipped unit and its
// tag-exec drop-in: the unit's ambient and bounding sets are exactly the
// capabilities the scanner needs (scan.Needed), the drop-in adds exactly
// CAP_SETUID and CAP_SETGID, and the settings the agent depends on are
// there.
func TestUnitGrantsExactlyWhatTheAgentNeeds(t *testing.T) {
	unit, dropIn := unitService(t, unitPath), unitService(t, tagExecPath)
	tests := []struct {
		name string
		got  caps.Set
		want caps.Set
	}{
		{"unit AmbientCapabilities", unitCaps(t, unit["AmbientCapabilities"]), scan.Needed},
		{"unit CapabilityBoundingSet", unitCaps(t, unit["CapabilityBoundingSet"]), scan.Needed},
		{"drop-in AmbientCapabilities", unitCaps(t, dropIn["AmbientCapabilities"]), caps.Of(caps.SetUID, caps.SetGID)},
		{"drop-in CapabilityBoundingSet", unitCaps(t, dropIn["CapabilityBoundingSet"]), caps.Of(caps.SetUID, caps.SetGID)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	for key, want := range map[string]string{
		"User": "proctag", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
		"PrivateTmp": "yes", "StateDirectory": "proctag", "CacheDirectory": "proctag", "Restart": "on-failure",
	} {
		if got := unit[key]; !slices.Equal(got, []string{want}) {
			t.Errorf("unit %s = %v, want %s", key, got, want)
		}
	}
	for _, key := range []string{"MemoryMax", "TasksMax", "ExecStart"} {
		if len(unit[key]) != 1 {
			t.Errorf("unit %s = %v, want one value", key, unit[key])
		}
	}
	// Each of these would hide what the agent reads, or break wazero.
	for _, key := range []string{"MemoryDenyWriteExecute", "PrivateNetwork", "PrivateUsers", "ProtectProc", "ProcSubset"} {
		if v, ok := unit[key]; ok {
			t.Errorf("unit sets %s=%v, which breaks the agent", key, v)
		}
	}
}

// setprivCaps is a capability list for setpriv: "-all,+sys_ptrace,...".
func setprivCaps(s caps.Set) string {
	out := "-all"
	for _, c := range s.Caps() {
		out += ",+" + strings.ToLower(strings.TrimPrefix(c.String(), "CAP_"))
	}
	return out
}

// TestRunLeastPrivilege starts the built agent the way the systemd unit
// does — as an unprivileged user (nobody) holding exactly the unit's
// ambient and bounding capabilities, with no_new_privs and systemd's
// $STATE_DIRECTORY and $CACHE_DIRECTORY, through setpriv — and follows it
// with a real NATS subscriber. A root-owned sleep with a distinctive argv[0]
// holds a listening socket, and os-app-tag-exec tags it with the uid and
// capabilities its command ran with.
//
//   - With the unit's capabilities the agent publishes the root process with
//     its exe and its listener, and the tag command runs as the agent's user
//     (no CAP_SETUID), with no capability at all.
//   - With the tag-exec drop-in too, the command runs as
//     os-app-tag-exec-user (daemon), again with no capability.
//   - With no capability the agent still publishes: its own process and its
//     own NATS connection, the root process without exe or socket, and it
//     logs exactly one "running without" line naming what it cannot see.
func TestRunLeastPrivilege(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: starts processes as root and the agent as nobody")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv is missing: make deps installs util-linux")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	daemon, err := user.Lookup("daemon")
	if err != nil {
		t.Skipf("no user daemon for os-app-tag-exec-user: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	unit, dropIn := unitService(t, unitPath), unitService(t, tagExecPath)
	unitSet := unitCaps(t, unit["AmbientCapabilities"])
	dropInSet := unitSet | unitCaps(t, dropIn["AmbientCapabilities"])

	bin := buildAgent(t, privVersion, "", "")
	dir := sharedDir(t)
	srv := startNATS(t)
	_, natsPort, _ := net.SplitHostPort(srv.Addr().String())
	sleeper, port := startRootListener(t)
	tagScript := writeTagScript(t, dir, sleeper)
	plugin := buildWatHello(t, dir)

	tests := []struct {
		name      string
		caps      caps.Set
		wantTagID string // uid the tag command ran as
		seeOthers bool   // other users' exe links and sockets
	}{
		{name: "unit", caps: unitSet, wantTagID: nobody.Uid, seeOthers: true},
		{name: "unit with tag-exec drop-in", caps: dropInSet, wantTagID: daemon.Uid, seeOthers: true},
		{name: "no capabilities", caps: 0, wantTagID: nobody.Uid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := "priv-" + strings.ReplaceAll(tt.name, " ", "-")
			state, cache := ownedDir(t, dir, host+"-state", uid, gid), ownedDir(t, dir, host+"-cache", uid, gid)
			cfg := filepath.Join(dir, host+".yaml")
			text := fmt.Sprintf(`os-proc-sync-enabled: true
os-proc-socket-sync-interval: 1
os-proc-socket-min-lifetime: 0
host-id: %s
nats:
  url: %s
os-app-tag-exec: [%s]
os-app-tag-exec-user: daemon
os-proc-regex:
  - match-regex: ^proctag-priv-sleeper$
  - match-regex: ^proctag$
  - action: drop
`, host, srv.ClientURL(), tagScript)
			if plugin != "" {
				text += "plugins:\n  - name: wat-hello\n    path: " + plugin + "\n    tag-prefix: wat/\n    fields: [pid]\n"
			}
			if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			sub := runnertest.Follow(t, srv.ClientURL(), host)

			c := setprivCaps(tt.caps)
			agent := exec.Command(setpriv, "--reuid="+nobody.Uid, "--regid="+nobody.Gid, "--clear-groups",
				"--inh-caps="+c, "--ambient-caps="+c, "--bounding-set="+c, "--no-new-privs",
				"--", bin, "run", "--config", cfg, "--log-json")
			agent.Env = []string{"PATH=/usr/bin:/bin", "STATE_DIRECTORY=" + state, "CACHE_DIRECTORY=" + cache}
			var stderr bytes.Buffer
			agent.Stderr = &stderr
			if err := agent.Start(); err != nil {
				t.Fatal(err)
			}
			stopped := false
			stop := func() {
				if stopped {
					return
				}
				stopped = true
				_ = agent.Process.Signal(syscall.SIGTERM)
				if err := agent.Wait(); err != nil {
					t.Errorf("agent exited with %v\n%s", err, stderr.String())
				}
			}
			t.Cleanup(stop)
			pid := agent.Process.Pid // setpriv execs the agent: same pid

			var last *snapshot.Snapshot
			ok := waitState(sub, host, func(s *snapshot.Snapshot) bool {
				last = s
				self, other := findPID(s, pid), findPID(s, sleeper)
				if self == nil || other == nil || other.Tags["tagexec.uid"] == "" || (plugin != "" && other.Tags["wat/hello"] == "") {
					return false
				}
				return findSocket(s, func(so snapshot.Socket) bool {
					return so.State == "ESTABLISHED" && strconv.Itoa(int(so.RemotePort)) == natsPort && slices.Equal(so.PIDs, []int{pid})
				}) != nil
			})
			stop()
			if !ok {
				t.Fatalf("no state with the agent, its NATS connection and the tagged root process within %s; last: %s\nagent log:\n%s",
					runnertest.Timeout, describe(last, pid, sleeper), stderr.String())
			}

			s := last
			if s.Host.AgentVersion != privVersion {
				t.Errorf("agent_version = %q, want %q", s.Host.AgentVersion, privVersion)
			}
			if self := findPID(s, pid); self.UID != uid {
				t.Errorf("the agent runs as uid %d, want %d", self.UID, uid)
			}
			other := findPID(s, sleeper)
			if other.UID != 0 {
				t.Errorf("the sleeper is uid %d, want root", other.UID)
			}
			if got := strings.HasSuffix(other.Exe, "/sleep"); got != tt.seeOthers {
				t.Errorf("root process exe = %q; visible %v, want %v", other.Exe, got, tt.seeOthers)
			}
			listener := findSocket(s, func(so snapshot.Socket) bool { return so.State == "LISTEN" && so.LocalPort == uint16(port) })
			if (listener != nil) != tt.seeOthers {
				t.Errorf("root process's listener on %d published: %+v, want %v", port, listener, tt.seeOthers)
			}
			if listener != nil && !slices.Equal(listener.PIDs, []int{sleeper}) {
				t.Errorf("listener owners = %v, want the sleeper %d", listener.PIDs, sleeper)
			}
			wantTags := map[string]string{"tagexec.uid": tt.wantTagID, "tagexec.capeff": "0000000000000000",
				"tagexec.capprm": "0000000000000000", "tagexec.capamb": "0000000000000000"}
			for k, want := range wantTags {
				if got := other.Tags[k]; got != want {
					t.Errorf("tag command: %s = %q, want %q", k, got, want)
				}
			}

			notices := logLines(t, stderr.Bytes(), "running without")
			switch {
			case tt.seeOthers && len(notices) != 0:
				t.Errorf("a privileged agent logged %v", notices)
			case !tt.seeOthers && (len(notices) != 1 || !strings.Contains(notices[0], "CAP_SYS_PTRACE") || !strings.Contains(notices[0], "sockets")):
				t.Errorf("an agent without capabilities logged %d notices %v, want one naming CAP_SYS_PTRACE and sockets", len(notices), notices)
			}
			if plugin != "" {
				if n := countFiles(t, filepath.Join(cache, "wasm")); n == 0 {
					t.Errorf("no compiled plugin in $CACHE_DIRECTORY/wasm (%s)", cache)
				}
			}
		})
	}
}

// startRootListener starts a root-owned sleep named proctag-priv-sleeper
// that holds a listening TCP socket (inherited as fd 3; this process
// closes its own copies). It returns the sleeper's pid and the port.
func startRootListener(t *testing.T) (pid, port int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: sleep, Args: []string{"proctag-priv-sleeper", "3600"}, ExtraFiles: []*os.File{f}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid, port
}

// writeTagScript writes the os-app-tag-exec command: it tags pid with the
// uid it runs as and its effective, permitted and ambient capabilities.
func writeTagScript(t *testing.T, dir string, pid int) string {
	t.Helper()
	path := filepath.Join(dir, "tags.sh")
	script := fmt.Sprintf(`#!/bin/sh
capset() { sed -n "s/^$1:[[:space:]]*//p" /proc/self/status; }
echo "- pid: %d"
echo "  tags:"
echo "    - {key: tagexec.uid, value: '$(id -u)'}"
echo "    - {key: tagexec.capeff, value: '$(capset CapEff)'}"
echo "    - {key: tagexec.capprm, value: '$(capset CapPrm)'}"
echo "    - {key: tagexec.capamb, value: '$(capset CapAmb)'}"
`, pid)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// buildWatHello assembles the wat-hello example plugin into dir, or
// returns "" when wat2wasm (make deps: wabt) is missing: the run is then
// checked without a plugin and without the compilation cache.
func buildWatHello(t *testing.T, dir string) string {
	t.Helper()
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Log("wat2wasm missing: the compilation cache is not checked")
		return ""
	}
	out := filepath.Join(dir, "wat-hello.wasm")
	if b, err := exec.Command(wat2wasm, "../../../plugins/wat-hello/wat-hello.wat", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	if err := os.Chmod(out, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// ownedDir makes dir/name owned by uid:gid with mode 0700, as systemd
// makes a unit's StateDirectory= and CacheDirectory=.
func ownedDir(t *testing.T, dir, name string, uid, gid int) string {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, uid, gid); err != nil {
		t.Fatal(err)
	}
	return d
}

// waitState waits until host's state satisfies ok, at most
// runnertest.Timeout, and reports whether it did.
func waitState(sub *natssub.Subscriber, host string, ok func(*snapshot.Snapshot) bool) bool {
	deadline := time.After(runnertest.Timeout)
	for {
		if s, have := sub.State(host); have && ok(s) {
			return true
		}
		select {
		case _, open := <-sub.Changes():
			if !open {
				return false
			}
		case <-deadline:
			return false
		}
	}
}

func findPID(s *snapshot.Snapshot, pid int) *snapshot.Process {
	for i := range s.Processes {
		if s.Processes[i].PID == pid {
			return &s.Processes[i]
		}
	}
	return nil
}

func findSocket(s *snapshot.Snapshot, ok func(snapshot.Socket) bool) *snapshot.Socket {
	for i := range s.Sockets {
		if ok(s.Sockets[i]) {
			return &s.Sockets[i]
		}
	}
	return nil
}

// describe prints what a failed wait last saw of the agent and the
// sleeper.
func describe(s *snapshot.Snapshot, pids ...int) string {
	if s == nil {
		return "no state"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d processes, %d sockets", len(s.Processes), len(s.Sockets))
	for _, pid := range pids {
		if p := findPID(s, pid); p != nil {
			fmt.Fprintf(&b, "; pid %d: %+v", pid, *p)
		} else {
			fmt.Fprintf(&b, "; pid %d: absent", pid)
		}
	}
	return b.String()
}

// logLines are the messages of the JSON log lines whose message starts
// with prefix.
func logLines(t *testing.T, log []byte, prefix string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(log))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		if msg, _ := m["@message"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, msg)
		}
	}
	return out
}

// countFiles counts the regular files under dir.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Errorf("walk %s: %v", dir, err)
	}
	return n
}
