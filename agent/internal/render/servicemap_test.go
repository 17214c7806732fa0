package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/snapshot/natssub"
)

func sampleMap() natssub.ServiceMap {
	return natssub.ServiceMap{Edges: []natssub.Edge{
		{Client: natssub.Node{Addr: "198.51.100.7"}, Server: natssub.Node{HostID: "db-1", Name: "postgres"}, Proto: "tcp", Port: 5432, Open: 1},
		{Client: natssub.Node{HostID: "web-1", Name: "api \"v2\""}, Server: natssub.Node{HostID: "db-1", Name: "postgres"}, Proto: "tcp", Port: 5432, Open: 3, Closed: 2},
		{Client: natssub.Node{HostID: "web-1", Name: "api \"v2\""}, Server: natssub.Node{HostID: "web-1", Name: "redis"}, Proto: "tcp", Port: 6379, Open: 1},
		{Client: natssub.Node{HostID: "web-1", Name: "api \"v2\""}, Server: natssub.Node{Addr: "[2001:db8::9]:443"}, Proto: "tcp", Port: 443, Closed: 1},
		{Client: natssub.Node{HostID: "web-1", Name: "evil\x1b[2J<b>"}, Server: natssub.Node{HostID: "web-1", Name: "redis"}, Proto: "udp", Port: 53, Open: 1},
	}}
}

// TestServiceMapFormats writes one map in every format; the goldens are
// what `proctag map` prints for it. Names a process chose are written out
// where a terminal or a renderer would act on them.
func TestServiceMapFormats(t *testing.T) {
	for _, format := range ServiceMapFormats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := ServiceMap(&b, sampleMap(), format); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "\x1b") {
				t.Errorf("%s output carries an escape character:\n%s", format, b.String())
			}
			golden(t, "servicemap."+format+".golden", b.Bytes())
		})
	}
	if err := ServiceMap(&bytes.Buffer{}, sampleMap(), "svg"); err == nil {
		t.Error("format svg accepted")
	}
}
