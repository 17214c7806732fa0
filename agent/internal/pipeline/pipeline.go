package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/scan"
	"github.com/proctag/proctag/agent/internal/sockets"
	"github.com/proctag/proctag/agent/internal/tags"
	"github.com/proctag/proctag/agent/internal/wasmhost"
	"github.com/proctag/proctag/agent/snapshot"
)

// Config is what one Pipeline needs. The step objects are built by the
// caller (agent/cmd/proctag) from the loaded configuration and are owned by
// the Pipeline afterwards; Plugins may be nil (no plugins configured).
type Config struct {
	// Root is the procfs mount, os-proc-root.
	Root string
	// MinLifetime is os-proc-socket-min-lifetime: younger processes are
	// not reported (they still count as parents).
	MinLifetime time.Duration
	// FullRescanEvery is full-rescan-every, the number of ticks between
	// full re-reads (see scan.Config).
	FullRescanEvery int
	// Rules is the compiled os-proc-regex list; TaggedOnly is
	// os-proc-sync-tagged-only.
	Rules      *rules.Set
	TaggedOnly bool
	// Tags runs os-app-tag-exec; nil means no tag command.
	Tags *tags.Runner
	// Plugins is the wasm host; nil means no plugins.
	Plugins *wasmhost.Host
	// Redactor removes secrets from published cmdlines; nil publishes
	// them as they are.
	Redactor *redact.Redactor
	// Host is copied into every snapshot; ScanTime and BootTime are set
	// per tick.
	Host snapshot.Host
}

// Pipeline runs ticks. It is not safe for concurrent use.
type Pipeline struct {
	cfg     Config
	logger  hclog.Logger
	scanner *scan.Scanner
	sockets *sockets.Collector
	eval    *rules.Evaluator
	tagsErr string // last tag exec error, to log a repeated one once
	last    *state
	nowFunc func() time.Time
}

// state is what the last tick saw, for Explain.
type state struct {
	res      *scan.Result
	procs    []rules.Proc
	verdicts []rules.Verdict
	plugins  map[int]wasmhost.Output // by index into procs
}

// New builds a Pipeline and its scanner and socket collector.
func New(cfg Config, logger hclog.Logger) (*Pipeline, error) {
	if cfg.Rules == nil {
		return nil, fmt.Errorf("pipeline: no rule set")
	}
	sc, err := scan.New(scan.Config{Root: cfg.Root, FullRescanEvery: cfg.FullRescanEvery}, logger)
	if err != nil {
		return nil, err
	}
	so, err := sockets.New(sockets.Config{Root: cfg.Root, MinLifetime: cfg.MinLifetime}, logger)
	if err != nil {
		return nil, err
	}
	return &Pipeline{
		cfg:     cfg,
		logger:  logger.Named("pipeline"),
		scanner: sc,
		sockets: so,
		eval:    rules.NewEvaluator(cfg.Rules, cfg.TaggedOnly),
		nowFunc: time.Now,
	}, nil
}

// Close releases what the scanner keeps open between ticks. The Pipeline
// must not be used afterwards.
func (p *Pipeline) Close() error { return p.scanner.Close() }

// Stats counts what one tick did, for logs, heartbeats and metrics.
type Stats struct {
	ScanDuration   time.Duration
	Processes      int // processes seen in /proc, kernel threads included
	Reported       int
	Sockets        int
	FullRescan     bool
	TagExecError   bool
	PluginDuration time.Duration
}

// Tick runs one scan through every step and returns the host's state.
func (p *Pipeline) Tick(ctx context.Context) (*snapshot.Snapshot, Stats, error) {
	start := p.nowFunc()
	var st Stats
	res, err := p.scanner.Scan(ctx)
	if err != nil {
		return nil, st, fmt.Errorf("scan %s: %w", p.cfg.Root, err)
	}
	st.Processes = len(res.Processes)
	st.FullRescan = res.Full

	own := p.runTags(ctx, &st)
	procs := p.ruleInputs(res, own)
	verdicts := p.eval.Evaluate(procs)

	accepted := make([]int, 0, len(procs))
	for i := range verdicts {
		if verdicts[i].Reported {
			accepted = append(accepted, i)
		}
	}
	pluginStart := p.nowFunc()
	outs := p.applyPlugins(ctx, res, procs, verdicts, accepted)
	st.PluginDuration = p.nowFunc().Sub(pluginStart)

	snap := &snapshot.Snapshot{Host: p.cfg.Host}
	snap.Host.ScanTime = res.Time
	snap.Host.BootTime = res.BootTime.UnixMilli()
	snap.Processes = make([]snapshot.Process, 0, len(accepted))
	owners := make([]sockets.Owner, 0, len(accepted))
	for _, i := range accepted {
		sp := res.Processes[i]
		out, plugged := outs[i]
		if plugged && out.Drop {
			continue
		}
		snap.Processes = append(snap.Processes, p.publishedProcess(sp, verdicts[i], out, plugged))
		owners = append(owners, sockets.Owner{Key: sp.Key, StartTime: sp.StartTime, NetNS: sp.NetNS, UID: sp.UID})
	}
	socks, err := p.sockets.Collect(ctx, res.Time, owners, res.Full)
	if err != nil {
		return nil, st, fmt.Errorf("sockets: %w", err)
	}
	snap.Sockets = publishedSockets(socks)
	snap.Sort()
	st.Reported = len(snap.Processes)
	st.Sockets = len(snap.Sockets)
	st.ScanDuration = p.nowFunc().Sub(start)
	p.last = &state{res: res, procs: procs, verdicts: verdicts, plugins: outs}
	return snap, st, nil
}

// runTags runs the tag exec command, if any, and returns its per-pid
// entries. On failure the runner hands back the previous tick's tags; the
// error is logged once per distinct message.
func (p *Pipeline) runTags(ctx context.Context, st *Stats) map[int]tags.Entry {
	if p.cfg.Tags == nil {
		return nil
	}
	r, err := p.cfg.Tags.Run(ctx)
	if err != nil {
		st.TagExecError = true
		if msg := err.Error(); msg != p.tagsErr {
			p.logger.Warn("tag exec failed, keeping the previous tags", "error", err)
			p.tagsErr = msg
		}
	} else if p.tagsErr != "" {
		p.logger.Info("tag exec works again")
		p.tagsErr = ""
	}
	return r.ByPID
}
