package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/procevents"
	"github.com/proctag/proctag/agent/internal/sockdiag"
	"github.com/proctag/proctag/agent/internal/tcpevents"
)

// Event source names, as the start line and `proctag scan --sources` give
// them.
const (
	SourceSockDiag      = "sock_diag"
	SourceProcConnector = "process connector"
	SourceEBPF          = "eBPF"
	sockDiagActive      = "active: socket tables over netlink, /proc/PID/net for a namespace it cannot enter"
	procConnectorActive = "active: a fork or exec reads the process at once and wakes a tick within a second (at most two a second) when it would publish something, lost events force a full re-read"
	ebpfActive          = "active: short TCP connections are published with their processes; with the process connector, a tick with no event publishes the last state without reading /proc"
)

// SourceStatus says whether this host allows one event source.
type SourceStatus struct {
	// Name is SourceSockDiag, SourceProcConnector or SourceEBPF.
	Name string
	// Available is set when the source opened.
	Available bool
	// Why is the reason it is not available; "" when it is.
	Why string
}

// String is "NAME: available" or "NAME: not available: WHY".
func (s SourceStatus) String() string {
	if s.Available {
		return s.Name + ": available"
	}
	return s.Name + ": not available: " + s.Why
}

// ProbeSources opens each event source once in the agent's own namespaces
// and closes it again: sock_diag with one dump of the TCP listeners, the
// process connector with a subscription, whose acknowledgement ctx bounds,
// and the eBPF TCP programs by loading and attaching them.
func ProbeSources(ctx context.Context) []SourceStatus {
	sd := SourceStatus{Name: SourceSockDiag}
	if err := probeSockDiag(); err != nil {
		sd.Why = err.Error()
	} else {
		sd.Available = true
	}
	pc := SourceStatus{Name: SourceProcConnector}
	if s, err := procevents.Open(ctx, procevents.Config{}); err != nil {
		pc.Why = err.Error()
	} else {
		s.Close()
		pc.Available = true
	}
	bpf := SourceStatus{Name: SourceEBPF}
	if t, err := tcpevents.Open(tcpevents.Config{}); err != nil {
		bpf.Why = err.Error()
	} else {
		t.Close()
		bpf.Available = true
	}
	return []SourceStatus{sd, pc, bpf}
}

// probeSockDiag opens a sock_diag Conn in the agent's namespace and dumps
// its TCP listeners: a kernel without inet_diag opens the socket and
// fails the dump.
func probeSockDiag() error {
	c, err := sockdiag.Open()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Dump(sockdiag.Query{Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, States: sockdiag.States(sockdiag.StateListen)}, func(sockdiag.Socket) {})
}

// isProcfs reports whether dir is on a procfs mount.
func isProcfs(dir string) bool {
	var fs unix.Statfs_t
	return unix.Statfs(dir, &fs) == nil && fs.Type == unix.PROC_SUPER_MAGIC
}

// startSources decides the event sources of a run from os-proc-events and
// what probe reports, and logs the decision in one line: for each source
// whether it is active and, if not, why. With os-proc-events: on it fails
// when any source cannot be opened. It returns what probe found (nil with
// os-proc-events: off).
func startSources(ctx context.Context, cfg *config.Config, probe func(context.Context) []SourceStatus, logger hclog.Logger) ([]SourceStatus, error) {
	mode := cfg.ProcEvents
	if mode == config.ProcEventsOff {
		logger.Info("event sources", "os_proc_events", mode,
			logKey(SourceSockDiag), "off (os-proc-events: off): socket tables from /proc/PID/net",
			logKey(SourceProcConnector), "off (os-proc-events: off): ticks poll /proc at the interval",
			logKey(SourceEBPF), "off (os-proc-events: off): short connections are not published")
		return nil, nil
	}
	var why []string
	args := []any{"os_proc_events", mode}
	found := probe(ctx)
	for _, s := range found {
		var say string
		switch {
		case !s.Available:
			say = "not available, " + fallback[s.Name] + ": " + s.Why
			why = append(why, s.Name+": "+s.Why)
		case !isProcfs(cfg.ProcRoot):
			say = "available, not used: os-proc-root " + cfg.ProcRoot + " is not a procfs mount"
		default:
			say = active[s.Name]
		}
		args = append(args, logKey(s.Name), say)
	}
	if mode == config.ProcEventsOn && len(why) > 0 {
		return nil, fmt.Errorf("%s: os-proc-events: on, but %s; set os-proc-events: auto to fall back to polling /proc where a source cannot be opened", cfg.File, strings.Join(why, "; "))
	}
	logger.Info("event sources", args...)
	return found, nil
}

// active and fallback say, per source, what the agent does with it and
// without it.
var (
	active = map[string]string{
		SourceSockDiag:      sockDiagActive,
		SourceProcConnector: procConnectorActive,
		SourceEBPF:          ebpfActive,
	}
	fallback = map[string]string{
		SourceSockDiag:      "socket tables from /proc/PID/net instead",
		SourceProcConnector: "polling /proc at the interval instead",
		SourceEBPF:          "short connections are published by their server ends only (sock_diag destroy events, accepted by the listener's owner) and every tick reads /proc",
	}
)

// logKey is a source's name as a log key: lower case, spaces as
// underscores (sock_diag, process_connector, ebpf).
func logKey(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), " ", "_")
}
