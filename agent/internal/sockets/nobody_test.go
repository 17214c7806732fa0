package sockets

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/procid"
)

// nobodyEnv switches the test binary into the helper that collects on the
// real /proc as an unprivileged user (see TestDegradeAsNobody).
const nobodyEnv = "PROCTAG_SOCKETS_TEST_NOBODY"

// nobodyHelper opens a loopback listener and collects twice (the second a
// full walk) with itself and pid 1, whose fd/ it may not read, as owners.
// It logs JSON to stdout and ends with "FOUND <bool>": whether its own
// listener was reported both times.
func nobodyHelper() int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer ln.Close()
	link, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	var ns uint64
	if _, err := fmt.Sscanf(link, "net:[%d]", &ns); err != nil {
		fmt.Println(err)
		return 1
	}
	logger := hclog.New(&hclog.LoggerOptions{Output: os.Stdout, JSONFormat: true, Level: hclog.Warn})
	c, err := New(Config{}, logger)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	owners := []Owner{{Key: procid.Key{PID: os.Getpid(), StartTicks: 1}, NetNS: ns}, {Key: procid.Key{PID: 1, StartTicks: 1}, NetNS: ns}}
	want := inodeOf(ln.(*net.TCPListener))
	found := true
	for _, full := range []bool{false, true} {
		socks, err := c.Collect(context.Background(), time.Now(), owners, full)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		hit := false
		for _, s := range socks {
			hit = hit || s.Inode == want
		}
		found = found && hit
	}
	fmt.Println("FOUND", found)
	return 0
}

// TestDegradeAsNobody runs nobodyHelper as uid 65534: the unreadable fd/ of
// pid 1 must give one warning with a count, no error, and the helper's
// own sockets must still be reported.
func TestDegradeAsNobody(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a helper as nobody")
	}
	dir, err := os.MkdirTemp("", "proctag-sockets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sockets.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), nobodyEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var warnings []map[string]any
	found := ""
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if f, ok := strings.CutPrefix(sc.Text(), "FOUND "); ok {
			found = f
			continue
		}
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["@level"] == "warn" {
			warnings = append(warnings, m)
		}
	}
	if found != "true" {
		t.Errorf("the helper's own listener was not reported:\n%s", out)
	}
	if len(warnings) != 1 || warnings[0]["@module"] != "sockets" || warnings[0]["count"] != 1.0 {
		t.Errorf("warnings %v, want one from sockets with count 1", warnings)
	}
}
