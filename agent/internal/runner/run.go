package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/conns"
	"github.com/proctag/proctag/agent/internal/metrics"
	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/procevents"
	"github.com/proctag/proctag/agent/internal/publish"
	"github.com/proctag/proctag/agent/internal/scan"
	"github.com/proctag/proctag/agent/snapshot"
)

// Options are what Run needs besides the config.
type Options struct {
	// Version is the agent version put into snapshots.
	Version string
	// Reload delivers a value for every SIGHUP; nil disables reloads.
	Reload <-chan os.Signal
	// Load re-reads the config on reload; its errors keep the old config.
	Load func() (*config.Config, error)
	// Ready, when set, is called once with the NATS URL the publisher uses
	// (the embedded server's when nats.url is empty), after it started.
	Ready func(natsURL string)
}

// ErrSyncDisabled is returned by Run when os-proc-sync-enabled is false.
var ErrSyncDisabled = errors.New("os-proc-sync-enabled is false")

// Run is the agent: it starts the embedded NATS server unless nats.url is
// set, the publisher, metrics and the tick loop, and returns when ctx is
// done (nil after a clean, drained shutdown) or when a part fails.
func Run(ctx context.Context, cfg *config.Config, opts Options, logger hclog.Logger) error {
	if !cfg.ProcSyncEnabled {
		return ErrSyncDisabled
	}
	NoticeUnseen(cfg.ProcRoot, logger)
	probed, err := startSources(ctx, cfg, ProbeSources, logger)
	if err != nil {
		return err
	}
	url := cfg.NATS.URL
	var srv *natsembed.Server
	if url == "" {
		if cfg.NATS.EmbeddedListen == "" {
			return fmt.Errorf("%s: nats: no nats.url and nats.embedded.listen is empty: nothing to publish to", cfg.File)
		}
		s, err := natsembed.Start(natsembed.Config{
			Listen:    cfg.NATS.EmbeddedListen,
			JetStream: cfg.NATS.JetStream,
			StoreDir:  stateDir("jetstream"),
		}, logger)
		if errors.Is(err, natsembed.ErrAddrInUse) {
			return fmt.Errorf("%s: %w: set nats.embedded.listen to a free host:port, or nats.url to publish to the NATS server already there", cfg.File, err)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.File, err)
		}
		srv = s
		defer srv.Shutdown()
		url = srv.ClientURL()
	}

	// The host id is resolved once per run: the publisher's subjects and
	// the pipeline's host record use the same one, also after a reload.
	hostID := publish.HostID(cfg.HostID, "/")
	mc := metrics.New()
	pc := publishConfig(cfg, url, hostID)
	pc.OnPublish = func(d time.Duration, ok bool) { mc.ObserveStep(metrics.Step{Name: stepPublish, Duration: d, OK: ok}) }
	// A full snapshot's chunks (2.8 MB for 100,000 sockets) are garbage
	// once sent: collecting then sets the heap's next goal from the state
	// the agent keeps, which agent-gc-percent's 10 % would otherwise let
	// grow past the snapshot's peak (every FullEvery ticks, a few ms).
	pc.AfterFull = runtime.GC
	pub, err := publish.New(pc, logger)
	if err != nil {
		return err
	}
	epoch := pub.Epoch()
	agentMemory.applyGCPercent(cfg.AgentGCPercent, logger)
	parts, err := Build(ctx, withHostID(cfg, hostID), logger, opts.Version, epoch)
	if err != nil {
		return err
	}
	if opts.Ready != nil {
		opts.Ready(url)
	}
	logger.Info("agent started", "version", opts.Version, "host_id", hostID, "epoch", epoch, "nats", url,
		"interval", cfg.SyncInterval, "proc_root", cfg.ProcRoot)

	g, gctx := errgroup.WithContext(ctx)
	if cfg.MetricsListen != "" {
		g.Go(func() error { return mc.Serve(gctx, cfg.MetricsListen, logger.Named("metrics")) })
	}
	g.Go(func() error { return pub.Run(gctx) })
	l := &loop{cfg: cfg, opts: opts, logger: logger, pub: pub, metrics: mc, epoch: epoch, hostID: hostID,
		ebpfProbed: available(probed, SourceEBPF)}
	g.Go(func() error { return l.run(gctx, parts) })
	err = g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil
	}
	logger.Info("agent stopped")
	return err
}

// publishConfig maps the config to the publisher's, for the resolved
// hostID.
func publishConfig(cfg *config.Config, url, hostID string) publish.Config {
	n := cfg.NATS
	return publish.Config{
		URL: url, SubjectPrefix: n.SubjectPrefix, HostID: hostID,
		Creds: n.Creds, NKeySeed: n.NKeySeed, Token: n.Token, User: n.User, Password: n.Password,
		TLSCA: n.TLSCA, TLSCert: n.TLSCert, TLSKey: n.TLSKey,
		JetStream: n.JetStream, FullEvery: n.FullEvery, Interval: cfg.SyncInterval,
		StreamLimits: publish.StreamLimits(n.JetStreamLimits),
	}
}

// withHostID returns a copy of cfg whose host-id is the resolved hostID,
// so that the parts built from it put the run's host id into every state.
func withHostID(cfg *config.Config, hostID string) *config.Config {
	c := *cfg
	c.HostID = hostID
	return &c
}

// stateDir is where the agent keeps state between runs (the embedded
// server's JetStream store): under $STATE_DIRECTORY when systemd set it
// (the unit's StateDirectory=), else /var/lib/proctag for root and the
// user's cache directory for anyone else.
func stateDir(name string) string {
	if d := systemdDir("STATE_DIRECTORY"); d != "" {
		return filepath.Join(d, name)
	}
	if os.Geteuid() == 0 {
		return filepath.Join("/var/lib/proctag", name)
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "proctag", name)
	}
	return filepath.Join(os.TempDir(), "proctag-"+name)
}

// loop is the tick loop and the owner of the current Parts.
type loop struct {
	cfg     *config.Config
	opts    Options
	logger  hclog.Logger
	pub     *publish.Publisher
	metrics *metrics.Collector
	epoch   string
	hostID  string // resolved once by Run
	ticks   uint64
	// pluginFaults is the plugin fault total of the last tick.
	pluginFaults uint64
	lastErr      string
	// ebpfProbed is set when the start probe loaded the eBPF programs.
	ebpfProbed bool
	// early is the current pipeline's early reader, which the process
	// connector's reader goroutine feeds.
	early atomic.Pointer[scan.Early]
	// counts are the event-driven totals that heartbeats carry.
	quietTicks, reconciled, closedReported, closedDropped, eventsLost uint64
	// tcpLost and destroysLost are the highest counts of lost events the
	// eBPF source and the destroy reader gave (see countLost).
	tcpLost, destroysLost uint64
	// fullTicks counts the ticks that re-read everything.
	fullTicks uint64
	// warnedReconcile is set once a reconcile found a difference.
	warnedReconcile bool
	// destroys is the sock_diag destroy reader, nil when not open.
	destroys *destroySource
}

// eventsOn reports whether this run may use event sources at all.
func (l *loop) eventsOn() bool {
	return l.cfg.ProcEvents != config.ProcEventsOff && isProcfs(l.cfg.ProcRoot)
}

// available reports whether probe found source name available.
func available(found []SourceStatus, name string) bool {
	for _, s := range found {
		if s.Name == name {
			return s.Available
		}
	}
	return false
}

func (l *loop) run(ctx context.Context, parts *Parts) error {
	var wg sync.WaitGroup
	stopPlugins := l.startPlugins(ctx, parts, &wg)
	defer func() {
		stopPlugins()
		wg.Wait()
		parts.Close(context.Background())
	}()
	ticker := time.NewTicker(l.cfg.SyncInterval)
	defer ticker.Stop()
	w := newWaker(l.cfg.MinLifetime)
	defer w.timer.Stop()
	var src *conns.Tracker
	tcp := openTCP(ctx, l)
	var ds *destroySource
	if tcp != nil {
		defer tcp.close()
		src = tcp.conns
	} else if ds = openDestroys(ctx, l, l.cfg.ClosedMax); ds != nil {
		defer ds.close()
		src = ds.conns
	}
	l.destroys = ds
	l.use(parts, src)
	var batches <-chan procevents.Batch
	pc := l.openEvents(ctx)
	if pc != nil {
		defer pc.Close()
		batches = pc.Events()
	}
	ev := eventState{procs: pc != nil, tcp: tcp, logger: l.logger}
	extra := false
	for {
		plan := ev.next(parts.Pipeline, extra)
		ev.ticked(plan, l.tick(ctx, parts, plan))
		if ds != nil {
			ds.update(parts.Pipeline.Last())
		}
		w.ticked(time.Now())
		extra = false
	wait:
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case b, ok := <-batches:
			if !ok {
				// The connector stopped (its error was logged): poll on.
				batches, ev.procs = nil, false
				l.logger.Warn("process connector stopped, ticks poll /proc at the interval", "error", pc.Err())
				goto wait
			}
			ev.saw = ev.saw || len(b.Events) > 0
			reread(parts.Pipeline, b)
			w.batch(b, time.Now(), parts.Pipeline.ForceFull, func(pid int) bool { return published(parts.Pipeline.Last(), pid) })
			goto wait
		case <-w.timer.C:
			if !w.fire(time.Now()) {
				goto wait
			}
			extra = true
		case <-l.opts.Reload:
			next, cfg, err := l.reload(ctx)
			if err != nil {
				l.logger.Error("config reload rejected, keeping the running config", "error", err)
				continue
			}
			stopPlugins()
			wg.Wait()
			parts.Close(ctx)
			parts, l.cfg = next, cfg
			l.use(parts, src)
			ev.saw = true // the new pipeline has no state yet
			stopPlugins = l.startPlugins(ctx, parts, &wg)
			ticker.Reset(cfg.SyncInterval)
			l.logger.Info("config reloaded", "file", cfg.File)
		}
	}
}

// published reports whether pid is a process of s (sorted by pid).
func published(s *snapshot.Snapshot, pid int) bool {
	if s == nil {
		return false
	}
	_, found := slices.BinarySearchFunc(s.Processes, pid, func(p snapshot.Process, pid int) int { return cmp.Compare(p.PID, pid) })
	return found
}

// use points the event sources at the pipeline of parts: src, the short
// connections (nil without a source of them), and the early reader.
func (l *loop) use(parts *Parts, src *conns.Tracker) {
	if src != nil {
		parts.Pipeline.UseConns(src)
	}
	// A tick's sockets may go into the slice of an earlier tick's that
	// neither the publisher nor the destroy reader's index still reads.
	parts.Pipeline.RecycleSockets(func(socks []snapshot.SocketRow) bool {
		return l.pub.Holds(socks) || l.destroys.holds(socks)
	})
	l.early.Store(parts.Pipeline.Early())
}

// startPlugins runs the plugin host's hot reload until the returned stop
// is called; wg tracks the goroutine.
func (l *loop) startPlugins(ctx context.Context, parts *Parts, wg *sync.WaitGroup) (stop func()) {
	if parts.Plugins == nil {
		return func() {}
	}
	pctx, cancel := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := parts.Plugins.Run(pctx); err != nil && pctx.Err() == nil {
			l.logger.Error("plugin hot reload stopped", "error", err)
		}
	}()
	return cancel
}

// reload loads and builds the new config; on any error the old one stays.
func (l *loop) reload(ctx context.Context) (*Parts, *config.Config, error) {
	if l.opts.Load == nil {
		return nil, nil, errors.New("no config file to reload")
	}
	cfg, err := l.opts.Load()
	if err != nil {
		return nil, nil, err
	}
	if !cfg.ProcSyncEnabled {
		return nil, nil, fmt.Errorf("%s: os-proc-sync-enabled is false in the new config; stop the agent instead", cfg.File)
	}
	if cfg.NATS != l.cfg.NATS || cfg.MetricsListen != l.cfg.MetricsListen || cfg.HostID != l.cfg.HostID {
		l.logger.Warn("nats, metrics-listen and host-id changes take effect at the next restart")
	}
	agentMemory.applyGCPercent(cfg.AgentGCPercent, l.logger)
	parts, err := Build(ctx, withHostID(cfg, l.hostID), l.logger, l.opts.Version, l.epoch)
	if err != nil {
		return nil, nil, err
	}
	return parts, cfg, nil
}
