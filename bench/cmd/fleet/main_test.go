package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if isChild(os.Args[1:]) {
		if err := runChild(os.Args[1:]); err != nil {
			os.Stderr.WriteString("fleet subscriber: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestTinyFleet runs the whole benchmark on 6 small hosts at a 1 s
// interval: the subscriber has every host's state, a late one too, every
// host is current again after a server is killed, no subscriber claims a
// state the host does not have, and the flow index finds both ends of the
// connections between the hosts.
func TestTinyFleet(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o := options{hosts: 6, procs: 40, sockets: 200, interval: time.Second, churn: 0.5, churnJobs: 2, churnConns: 5,
		quietTicks: 1, churnTicks: 2, seed: 7}
	var log strings.Builder
	f, err := run(t.Context(), o, self, &log)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(log.String())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := f.print(&table, o); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
	for _, e := range []struct {
		what string
		err  error
	}{{"first sync", f.initialErr}, {"late subscriber", f.lateErr}, {"recovery after the kill", f.killErr},
		{"subscriber after the churn", f.finalErr}, {"late subscriber after the churn", f.finalLateErr}} {
		if e.err != nil {
			t.Errorf("%s: %v", e.what, e.err)
		}
	}
	if n := f.final.check.Stale + f.finalLate.check.Stale; n != 0 {
		t.Errorf("%d undetected gaps: %+v, %+v", n, f.final.check, f.finalLate.check)
	}
	if f.quiet.msgs["hb"] == 0 || f.churning.msgs["delta"] == 0 {
		t.Errorf("quiet window: %v heartbeats; churn window: %v deltas", f.quiet.msgs, f.churning.msgs)
	}
	if f.flow.Error != "" || f.flow.Flows == 0 || f.flow.Resolved != f.flow.Flows {
		t.Errorf("flow lookups: %+v", f.flow)
	}
}
