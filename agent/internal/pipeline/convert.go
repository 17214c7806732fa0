package pipeline

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/scan"
	"github.com/proctag/proctag/agent/internal/sockets"
	"github.com/proctag/proctag/agent/internal/tags"
	"github.com/proctag/proctag/agent/internal/wasmhost"
	"github.com/proctag/proctag/agent/snapshot"
)

// ruleInputs turns the scan into the rules' view of every process, kernel
// threads included (the rules decide that they are not reported), in buf's
// array when it has room.
func (p *Pipeline) ruleInputs(res *scan.Result, own map[int]tags.Entry, buf []rules.Proc) []rules.Proc {
	procs := slices.Grow(buf[:0], len(res.Processes))[:len(res.Processes)]
	for i, sp := range res.Processes {
		e, tagged := own[sp.PID]
		procs[i] = rules.Proc{
			PID:         sp.PID,
			PPID:        sp.PPID,
			StartTicks:  sp.StartTicks,
			Rev:         sp.Rev,
			HasArgv:     len(sp.Argv) > 0,
			ProcessName: sp.ProcessName,
			Cmdline:     sp.Cmdline,
			Young:       young(lastSeen(res.Time, sp), res.Started(sp), p.cfg.MinLifetime),
			Tagged:      tagged,
			Tags:        e.Tags,
		}
	}
	return procs
}

// lastSeen is when process sp was last alive: when it exited, for a
// process read early that is gone, else now.
func lastSeen(now time.Time, sp *scan.Process) time.Time {
	if !sp.Exited.IsZero() {
		return sp.Exited
	}
	return now
}

// young is DeepFlow's min-lifetime test, in whole seconds as its code does
// it (now_sec - start_sec < min_lifetime), so results agree at the boundary.
func young(now, start time.Time, minLifetime time.Duration) bool {
	return now.Unix()-start.Unix() < int64(minLifetime/time.Second)
}

// applyPlugins runs the wasm plugins on the accepted processes and returns
// their outputs by index into res.Processes; nil when no plugins run.
func (p *Pipeline) applyPlugins(ctx context.Context, res *scan.Result, procs []rules.Proc, verdicts []rules.Verdict, accepted []int) map[int]wasmhost.Output {
	if p.cfg.Plugins == nil || len(accepted) == 0 {
		return nil
	}
	in := make([]wasmhost.Input, len(accepted))
	for n, i := range accepted {
		sp := res.Processes[i]
		in[n] = wasmhost.Input{
			Key:    sp.Key,
			Record: p.record(sp, verdicts[i]),
		}
	}
	outs := p.cfg.Plugins.Apply(ctx, in)
	m := make(map[int]wasmhost.Output, len(outs))
	for n, i := range accepted {
		if n < len(outs) {
			m[i] = outs[n]
		}
	}
	return m
}

// record is the plugin's view of an accepted process.
func (p *Pipeline) record(sp *scan.Process, v rules.Verdict) abi.Record {
	return PluginRecord(sp, v.Name, v.Tags, p.cfg.Redactor)
}

// PluginRecord is what a plugin sees of a scanned process named name with
// tags so far. Plugins are untrusted: they get the cmdline after red, argv
// re-split from it when redaction changed anything, and the name and
// process name after red too (a cmdline rewrite carries cmdline text into
// the name, and an argv rewritten into one string with spaces into the
// process name); red may be nil.
func PluginRecord(sp *scan.Process, name string, tagList []tags.Tag, red *redact.Redactor) abi.Record {
	cmdline := sp.Cmdline
	argv := sp.Argv
	if red != nil {
		if c := red.Cmdline(cmdline); c != cmdline {
			cmdline, argv = c, strings.Split(c, " ")
		}
	}
	r := abi.Record{
		PID:         sp.PID,
		PPID:        sp.PPID,
		StartTime:   sp.StartTime.UnixMilli(),
		Name:        red.Cmdline(name),
		ProcessName: red.Cmdline(sp.ProcessName),
		Argv:        argv,
		Cmdline:     cmdline,
		Exe:         sp.Exe,
		UID:         sp.UID,
		User:        sp.User,
		ContainerID: sp.ContainerID,
		Cgroup:      sp.Cgroup,
		Tags:        make([]abi.Tag, len(tagList)),
	}
	for i, t := range tagList {
		r.Tags[i] = abi.Tag{Key: t.Key, Value: t.Value}
	}
	return r
}

func (p *Pipeline) redact(cmdline string) string {
	if p.cfg.Redactor == nil {
		return cmdline
	}
	return p.cfg.Redactor.Cmdline(cmdline)
}

// publishedProcess is the wire form of a reported process: the rules'
// verdict, overridden by the plugins' output when they ran.
func (p *Pipeline) publishedProcess(sp *scan.Process, v rules.Verdict, out wasmhost.Output, plugged bool) snapshot.Process {
	sn := snapshot.Process{
		PID:         sp.PID,
		PPID:        sp.PPID,
		StartTime:   sp.StartTime.UnixMilli(),
		Name:        p.redact(v.Name),         // a cmdline rewrite can carry a secret into the name
		ProcessName: p.redact(sp.ProcessName), // as can argv[0] rewritten with spaces (setproctitle)
		Cmdline:     p.redact(sp.Cmdline),
		Exe:         sp.Exe,
		User:        sp.User,
		UID:         sp.UID,
		NetNSID:     sp.NetNS,
		ContainerID: sp.ContainerID,
		MatchedRule: v.MatchedRule,
	}
	if !sp.Exited.IsZero() {
		sn.Exited = sp.Exited.UnixMilli()
	}
	if plugged {
		sn.Name = p.redact(out.Name)
		if len(out.Tags) > 0 {
			sn.Tags = make(map[string]string, len(out.Tags))
			for _, t := range out.Tags {
				sn.Tags[t.Key] = t.Value
			}
		}
		return sn
	}
	if len(v.Tags) > 0 {
		sn.Tags = make(map[string]string, len(v.Tags))
		for _, t := range v.Tags {
			sn.Tags[t.Key] = t.Value
		}
	}
	return sn
}

// newSocketConverter returns a converter of the collector's sockets to
// the rows the pipeline keeps (sockets.CollectChangesAs).
func newSocketConverter() func(*sockets.Socket) snapshot.SocketRow {
	return func(s *sockets.Socket) snapshot.SocketRow {
		return snapshot.NewSocketRow(s.Proto, s.Local, s.Remote, s.State, s.Role, s.Inode, s.NetNS, s.Holders())
	}
}
