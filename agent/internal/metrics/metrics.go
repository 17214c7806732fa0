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
	"github.com/proctag/proctag/agent/snapshot"
)

// Collector is a prometheus.Collector over the latest snapshot.Stats. The
// tick loop calls Observe once per tick; a scrape reads the newest value.
// It is safe for concurrent use.
type Collector struct {
	mu      sync.Mutex
	st      snapshot.Stats
	ok      bool
	plugins []PluginSample
}

type metric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*snapshot.Stats) float64
}

func newMetric(name, help string, kind prometheus.ValueType, value func(*snapshot.Stats) float64) metric {
	return metric{desc: prometheus.NewDesc("proctag_"+name, help, nil, nil), kind: kind, value: value}
}

var all = []metric{
	newMetric("scan_duration_seconds", "Wall time of the last tick's scan.", prometheus.GaugeValue,
		func(s *snapshot.Stats) float64 { return float64(s.ScanMicros) / 1e6 }),
	newMetric("tick_duration_seconds", "Wall time of the last whole tick.", prometheus.GaugeValue,
		func(s *snapshot.Stats) float64 { return float64(s.TickMicros) / 1e6 }),
	newMetric("processes", "Processes in the last published state.", prometheus.GaugeValue,
		func(s *snapshot.Stats) float64 { return float64(s.Processes) }),
	newMetric("processes_seen", "Pids the last scan looked at, reported or not.", prometheus.GaugeValue,
		func(s *snapshot.Stats) float64 { return float64(s.ProcessesSeen) }),
	newMetric("sockets", "Sockets in the last published state.", prometheus.GaugeValue,
		func(s *snapshot.Stats) float64 { return float64(s.Sockets) }),
	newMetric("ticks_total", "Ticks run since the agent started.", prometheus.CounterValue,
		func(s *snapshot.Stats) float64 { return float64(s.Ticks) }),
	newMetric("plugin_calls_total", "Wasm plugin calls.", prometheus.CounterValue,
		func(s *snapshot.Stats) float64 { return float64(s.PluginCalls) }),
	newMetric("plugin_faults_total", "Wasm plugin faults: traps, timeouts, bad output, limits.", prometheus.CounterValue,
		func(s *snapshot.Stats) float64 { return float64(s.PluginFaults) }),
	newMetric("published_bytes_total", "Bytes handed to NATS, headers and bodies.", prometheus.CounterValue,
		func(s *snapshot.Stats) float64 { return float64(s.PublishedBytes) }),
	newMetric("published_messages_total", "Messages handed to NATS.", prometheus.CounterValue,
		func(s *snapshot.Stats) float64 { return float64(s.PublishedMessages) }),
	newMetric("nats_reconnects_total", "NATS reconnections.", prometheus.CounterValue,
		func(s *snapshot.Stats) float64 { return float64(s.Reconnects) }),
	newMetric("publish_errors_total", "Messages that could not be handed to NATS.", prometheus.CounterValue,
		func(s *snapshot.Stats) float64 { return float64(s.PublishErrors) }),
	newMetric("resync_requests_total", "Resync requests answered.", prometheus.CounterValue,
		func(s *snapshot.Stats) float64 { return float64(s.ResyncRequests) }),
}

// Observe records the newest stats.
func (c *Collector) Observe(st snapshot.Stats) {
	c.mu.Lock()
	c.st, c.ok = st, true
	c.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range all {
		ch <- m.desc
	}
	d := &pluginDescs
	for _, desc := range []*prometheus.Desc{d.calls, d.records, d.hits, d.skips, d.seconds, d.faults, d.loaded, d.open, d.instances} {
		ch <- desc
	}
}

// Collect implements prometheus.Collector; nothing is emitted before the
// first Observe.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	st, ok, plugins := c.st, c.ok, c.plugins
	c.mu.Unlock()
	if !ok {
		return
	}
	for _, m := range all {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(&st))
	}
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
