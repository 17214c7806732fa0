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
)

// Event source names, as the start line and `proctag scan --sources` give
// them.
const (
	SourceSockDiag      = "sock_diag"
	SourceProcConnector = "process connector"
	SourceEBPF          = "eBPF"
	notBuiltIn          = "not built in"
	sockDiagActive      = "active: socket tables over netlink, /proc/PID/net for a namespace it cannot enter"
	procConnectorActive = "active: a fork, exec or exit wakes a tick within about a second (at most one a second), lost events force a full re-read"
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
// process connector with a subscription, whose acknowledgement ctx bounds.
// eBPF is not built into this agent.
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
	return []SourceStatus{sd, pc, {Name: SourceEBPF, Why: notBuiltIn}}
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
// when sock_diag or the process connector cannot be opened.
func startSources(ctx context.Context, cfg *config.Config, probe func(context.Context) []SourceStatus, logger hclog.Logger) error {
	mode := cfg.ProcEvents
	if mode == config.ProcEventsOff {
		logger.Info("event sources", "os_proc_events", mode,
			logKey(SourceSockDiag), "off (os-proc-events: off): socket tables from /proc/PID/net",
			logKey(SourceProcConnector), "off (os-proc-events: off): ticks poll /proc at the interval",
			logKey(SourceEBPF), notBuiltIn)
		return nil
	}
	var why []string
	args := []any{"os_proc_events", mode}
	for _, s := range probe(ctx) {
		var say string
		switch {
		case s.Name == SourceEBPF:
			say = notBuiltIn
		case !s.Available:
			say = "not available, polling /proc instead: " + s.Why
			why = append(why, s.Name+": "+s.Why)
		case !isProcfs(cfg.ProcRoot):
			say = "available, not used: os-proc-root " + cfg.ProcRoot + " is not a procfs mount"
		case s.Name == SourceSockDiag:
			say = sockDiagActive
		default:
			say = procConnectorActive
		}
		args = append(args, logKey(s.Name), say)
	}
	if mode == config.ProcEventsOn && len(why) > 0 {
		return fmt.Errorf("%s: os-proc-events: on, but %s; set os-proc-events: auto to fall back to polling /proc where a source cannot be opened", cfg.File, strings.Join(why, "; "))
	}
	logger.Info("event sources", args...)
	return nil
}

// logKey is a source's name as a log key: lower case, spaces as
// underscores (sock_diag, process_connector, ebpf).
func logKey(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), " ", "_")
}
