package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/proctag/proctag/agent/internal/buildinfo"
)

// Step is what one step of the agent's work cost: a pipeline step of a
// tick (scan, tags, rules, plugins, sockets) or one publish.
type Step struct {
	// Name labels the step's series (step="scan").
	Name string
	// Duration is the step's wall time.
	Duration time.Duration
	// OK is false when the step failed.
	OK bool
}

// Tick is what one tick did, as the tick loop hands it to ObserveTick.
type Tick struct {
	// Steps are the pipeline steps that ran, in order; the one named
	// "scan" also sets proctag_scan_duration_seconds.
	Steps []Step
	// Duration is the whole tick: every step and the hand-over of the
	// state to the publisher.
	Duration time.Duration
	// Processes and Sockets are the counts in the tick's state;
	// ProcessesSeen the pids the scan looked at, reported or not.
	Processes, ProcessesSeen, Sockets int
	// TablesSockDiag and TablesProcNet are the socket tables the tick
	// read over sock_diag and from /proc/PID/net text.
	TablesSockDiag, TablesProcNet int
	// Woken marks a tick woken by process events rather than the
	// interval.
	Woken bool
	// Quiet marks a tick that published the last state again because
	// the event sources reported no change.
	Quiet bool
	// Reconciled is how many processes and sockets a full re-read after
	// quiet ticks found added or removed: changes the events missed.
	Reconciled int
	// Closed and ClosedDropped are the short connections the tick
	// published and those its cap left out.
	Closed, ClosedDropped int
	// EventsLost is how many kernel TCP events the event sources lost
	// since the last tick (see snapshot.Stats.EventsLost).
	EventsLost int
}

// Publisher is the publisher's counters since the agent started.
type Publisher struct {
	// Bytes and Messages count what was handed to NATS (headers and
	// bodies); Errors the messages that could not be.
	Bytes, Messages, Errors uint64
	// Reconnects counts NATS reconnections; ResyncRequests the resync
	// requests answered.
	Reconnects, ResyncRequests uint64
}

// Collector holds the agent's metrics and is their prometheus.Collector.
// The tick loop reports each tick (ObserveTick, ObservePublisher,
// ObservePlugins), the publisher each publish (ObserveStep); a scrape reads
// the newest values. Nothing is exported before the first ObserveTick.
// Make it with New; it is safe for concurrent use.
type Collector struct {
	stepSeconds *prometheus.HistogramVec
	stepErrors  *prometheus.CounterVec
	scanSeconds prometheus.Gauge
	tickSeconds prometheus.Gauge
	processes   prometheus.Gauge
	seen        prometheus.Gauge
	sockets     prometheus.Gauge
	ticks       prometheus.Counter
	woken       prometheus.Counter
	quiet       prometheus.Counter
	reconciled  prometheus.Counter
	eventsLost  prometheus.Counter
	closed      *prometheus.CounterVec
	tables      *prometheus.CounterVec

	mu      sync.Mutex
	ticked  bool
	pub     Publisher
	plugins []PluginSample
}

// stepBuckets span a rules step on a quiet host (tens of µs) to a cold
// scan of a large one (seconds).
var stepBuckets = prometheus.ExponentialBuckets(0.0001, 4, 10)

// New returns a Collector with no observations.
func New() *Collector {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "proctag_" + name, Help: help})
	}
	return &Collector{
		stepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "proctag_step_duration_seconds",
			Help:    "Wall time of one step: scan, tags, rules, plugins, sockets (once per tick each, when configured) or publish (once per message sent).",
			Buckets: stepBuckets}, []string{"step"}),
		stepErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "proctag_step_errors_total",
			Help: "Steps that failed, by step."}, []string{"step"}),
		scanSeconds: gauge("scan_duration_seconds", "Wall time of the last tick's scan step (reading /proc), the other steps not included."),
		tickSeconds: gauge("tick_duration_seconds", "Wall time of the last whole tick: every step and the hand-over to the publisher."),
		processes:   gauge("processes", "Processes in the last published state."),
		seen:        gauge("processes_seen", "Pids the last scan looked at, reported or not."),
		sockets:     gauge("sockets", "Sockets in the last published state."),
		ticks:       prometheus.NewCounter(prometheus.CounterOpts{Name: "proctag_ticks_total", Help: "Ticks run since the agent started."}),
		woken:       prometheus.NewCounter(prometheus.CounterOpts{Name: "proctag_ticks_woken_total", Help: "Ticks woken by process events (fork, exec, exit, lost events) before the interval."}),
		quiet: prometheus.NewCounter(prometheus.CounterOpts{Name: "proctag_ticks_quiet_total",
			Help: "Ticks that published the last state again without reading /proc, because the event sources reported no change."}),
		reconciled: prometheus.NewCounter(prometheus.CounterOpts{Name: "proctag_reconcile_differences_total",
			Help: "Processes and sockets that a full re-read after quiet ticks found added or removed: changes the event sources missed (should stay 0)."}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "proctag_closed_connections_total",
			Help: "Short TCP connections (opened and closed between two ticks), by outcome: published, or dropped by closed-connections-max."}, []string{"outcome"}),
		eventsLost: prometheus.NewCounter(prometheus.CounterOpts{Name: "proctag_events_lost_total",
			Help: "Kernel TCP events the event sources lost: eBPF records dropped by a full ring buffer or skipped by the kernel, overruns of the sock_diag destroy reader's receive buffer, each of which loses one notification or more. A short connection whose events were lost is not published."}),
		tables: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "proctag_socket_tables_read_total",
			Help: "Socket tables read (four per network namespace and tick), by source: sock_diag (netlink) or proc (/proc/PID/net text)."}, []string{"source"}),
	}
}

// Descriptions of the counters other parts own.
var (
	pluginCallsDesc    = prometheus.NewDesc("proctag_plugin_calls_total", "Wasm plugin calls, all plugins.", nil, nil)
	pluginFaultsDesc   = prometheus.NewDesc("proctag_plugin_faults_total", "Wasm plugin faults, all plugins: traps, timeouts, bad output, limits.", nil, nil)
	publishedBytesDesc = prometheus.NewDesc("proctag_published_bytes_total", "Bytes handed to NATS, headers and bodies.", nil, nil)
	publishedMsgsDesc  = prometheus.NewDesc("proctag_published_messages_total", "Messages handed to NATS.", nil, nil)
	reconnectsDesc     = prometheus.NewDesc("proctag_nats_reconnects_total", "NATS reconnections.", nil, nil)
	publishErrorsDesc  = prometheus.NewDesc("proctag_publish_errors_total", "Messages that could not be handed to NATS.", nil, nil)
	resyncsDesc        = prometheus.NewDesc("proctag_resync_requests_total", "Resync requests answered.", nil, nil)
)

// ObserveStep records one step. A failed step counts in
// proctag_step_errors_total; the series of a step exist from its first
// observation.
func (c *Collector) ObserveStep(s Step) {
	c.stepSeconds.WithLabelValues(s.Name).Observe(s.Duration.Seconds())
	errs := c.stepErrors.WithLabelValues(s.Name)
	if !s.OK {
		errs.Inc()
	}
}

// ObserveSteps records the steps of a tick that failed before it had a
// state; the tick's gauges keep their last values.
func (c *Collector) ObserveSteps(steps []Step) {
	for _, s := range steps {
		c.ObserveStep(s)
	}
}

// ObserveTick records one tick that produced a state.
func (c *Collector) ObserveTick(t Tick) {
	c.ObserveSteps(t.Steps)
	for _, s := range t.Steps {
		if s.Name == "scan" {
			c.scanSeconds.Set(s.Duration.Seconds())
		}
	}
	c.tickSeconds.Set(t.Duration.Seconds())
	c.processes.Set(float64(t.Processes))
	c.seen.Set(float64(t.ProcessesSeen))
	c.sockets.Set(float64(t.Sockets))
	c.ticks.Inc()
	if t.Woken {
		c.woken.Inc()
	}
	if t.Quiet {
		c.quiet.Inc()
	}
	c.reconciled.Add(float64(t.Reconciled))
	c.closed.WithLabelValues("published").Add(float64(t.Closed))
	c.closed.WithLabelValues("dropped").Add(float64(t.ClosedDropped))
	c.eventsLost.Add(float64(t.EventsLost))
	c.tables.WithLabelValues("sock_diag").Add(float64(t.TablesSockDiag))
	c.tables.WithLabelValues("proc").Add(float64(t.TablesProcNet))
	c.mu.Lock()
	c.ticked = true
	c.mu.Unlock()
}

// ObservePublisher records the publisher's newest counters.
func (c *Collector) ObservePublisher(p Publisher) {
	c.mu.Lock()
	c.pub = p
	c.mu.Unlock()
}

// collectors are the metric objects the Collector owns.
func (c *Collector) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.stepSeconds, c.stepErrors, c.scanSeconds, c.tickSeconds, c.processes, c.seen, c.sockets, c.ticks, c.woken, c.quiet, c.reconciled, c.closed, c.eventsLost, c.tables}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.collectors() {
		m.Describe(ch)
	}
	for _, d := range []*prometheus.Desc{pluginCallsDesc, pluginFaultsDesc, publishedBytesDesc, publishedMsgsDesc, reconnectsDesc, publishErrorsDesc, resyncsDesc} {
		ch <- d
	}
	d := &pluginDescs
	for _, desc := range []*prometheus.Desc{d.calls, d.records, d.hits, d.skips, d.seconds, d.faults, d.loaded, d.open, d.instances} {
		ch <- desc
	}
}

// Collect implements prometheus.Collector; nothing is emitted before the
// first ObserveTick.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	ticked, pub, plugins := c.ticked, c.pub, c.plugins
	c.mu.Unlock()
	if !ticked {
		return
	}
	for _, m := range c.collectors() {
		m.Collect(ch)
	}
	var calls, faults uint64
	for _, p := range plugins {
		calls += p.Calls
		for _, n := range p.Faults {
			faults += n
		}
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(pluginCallsDesc, calls)
	counter(pluginFaultsDesc, faults)
	counter(publishedBytesDesc, pub.Bytes)
	counter(publishedMsgsDesc, pub.Messages)
	counter(reconnectsDesc, pub.Reconnects)
	counter(publishErrorsDesc, pub.Errors)
	counter(resyncsDesc, pub.ResyncRequests)
	collectPlugins(ch, plugins)
}

// Registry returns a registry with the collector, proctag_build_info and
// the Go and process collectors of client_golang.
func (c *Collector) Registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, newBuildInfo(buildinfo.Read()), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Serve answers /metrics on addr until ctx is done. It returns the listen
// error, or nil after a clean shutdown.
func (c *Collector) Serve(ctx context.Context, addr string, logger hclog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return c.serve(ctx, ln, logger)
}

func (c *Collector) serve(ctx context.Context, ln net.Listener, logger hclog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(c.Registry(), promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	logger.Info("serving metrics", "addr", ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		<-done
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		return err
	}
}
