package render

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/proctag/proctag/agent/internal/golden"
	"github.com/proctag/proctag/agent/snapshot"
)

func sample() *snapshot.Snapshot {
	return &snapshot.Snapshot{
		Host: snapshot.Host{HostID: "h1", Hostname: "box", ScanTime: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
		Processes: []snapshot.Process{
			{PID: 812, PPID: 1, Name: "billing-py-script --port 80", ProcessName: "python3", Cmdline: "python3 /srv/billing.py --port 80", User: "app", UID: 1000, MatchedRule: 0, Tags: map[string]string{"team": "pay", "env": "prod"}},
			{PID: 77, PPID: 1, Name: "nginx", ProcessName: "nginx", Cmdline: "nginx: master process /usr/sbin/nginx -g daemon off; " + strings.Repeat("x", 200), User: "root", MatchedRule: -1},
		},
		Sockets: []snapshot.Socket{
			{Proto: "tcp", LocalIP: "0.0.0.0", LocalPort: 80, RemoteIP: "0.0.0.0", State: "LISTEN", Role: "server", Inode: 1, PIDs: []int{77}},
			{Proto: "tcp6", LocalIP: "::1", LocalPort: 80, RemoteIP: "::1", RemotePort: 50000, State: "ESTABLISHED", Role: "server", Inode: 2, PIDs: []int{77}},
			{Proto: "tcp", LocalIP: "10.0.0.2", LocalPort: 41000, RemoteIP: "10.0.0.9", RemotePort: 5432, State: "ESTABLISHED", Role: "client", Inode: 3, PIDs: []int{812}},
			{Proto: "udp", LocalIP: "127.0.0.1", LocalPort: 8125, RemoteIP: "0.0.0.0", State: "CLOSE", Role: "server", Inode: 4, PIDs: []int{812}},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

func TestTable(t *testing.T) {
	for _, width := range []int{80, 160} {
		var b bytes.Buffer
		if err := Table(&b, sample(), width); err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			if n := runeLen(line); n > width && i > 0 {
				t.Errorf("width %d: line %d is %d wide: %q", width, i, n, line)
			}
		}
		golden(t, "table"+map[int]string{80: "80", 160: "160"}[width]+".golden", b.Bytes())
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	golden(t, "scan.json.golden", b.Bytes())
}
