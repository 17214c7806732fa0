// Command soak runs the agent (`proctag run`, with plugins and the
// embedded NATS server) against a churning workload for a while, samples
// what it holds once a second from its /metrics (resident memory,
// goroutines, open files, live wasm instances, ticks, the Go heap in use),
// fails when any of them keeps growing, and draws the resident memory and
// the heap over time as an SVG, whose path it prints at the end.
//
// The workload: short-lived processes started at -spawn-rate a second
// (each lives a random time up to 3 s, with a distinctive argv[0] the
// agent's rules name), and loopback TCP connections opened and closed at
// -conn-rate a second, so that the agent sees processes, sockets and pids
// come and go on every tick.
//
// Growth: after the first fifth of the run (warm-up), the samples are cut
// in two halves; a value grows when the second half's maximum passes the
// first half's by more than its tolerance (resident memory and Go heap in
// use: 20 % and 8 MiB; goroutines: 20; open files: 20; instances: more
// than the pool sizes allow, which is checked on every sample). Resident
// memory alone can creep while the heap is flat (the runtime returns freed
// pages to the kernel lazily); the heap tells a leak apart.
//
//	go run ./cmd/soak -proctag ../bin/proctag -plugins ../plugins/dist -duration 10m -svg soak.svg
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("proctag", "bin/proctag", "the proctag binary")
	plugins := flag.String("plugins", "plugins/dist", "plugin-dir for the agent (the example plugins)")
	duration := flag.Duration("duration", 3*time.Minute, "how long to run")
	spawnRate := flag.Int("spawn-rate", 50, "processes started per second")
	connRate := flag.Int("conn-rate", 200, "loopback connections opened and closed per second")
	svg := flag.String("svg", "soak-rss.svg", "where to draw resident memory over time")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, options{bin: *bin, plugins: *plugins, duration: *duration, spawnRate: *spawnRate, connRate: *connRate, svg: *svg}); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type options struct {
	bin, plugins, svg   string
	duration            time.Duration
	spawnRate, connRate int
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "proctag-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	plugins, err := filepath.Abs(o.plugins)
	if err != nil {
		return err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	natsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cfg := filepath.Join(dir, "soak.yaml")
	err = os.WriteFile(cfg, []byte(fmt.Sprintf(`os-proc-sync-enabled: true
os-proc-socket-sync-interval: 1
os-proc-socket-min-lifetime: 0
host-id: soak
log-level: warn
metrics-listen: %s
plugin-dir: %s
nats:
  embedded:
    listen: %s
os-proc-regex:
  - match-regex: ^soak-worker
    rewrite-name: soak-worker
`, metricsAddr, plugins, natsAddr)), 0o644)
	if err != nil {
		return err
	}
	agent := exec.Command(o.bin, "run", "--config", cfg)
	agent.Stdout, agent.Stderr = os.Stdout, os.Stderr
	if err := agent.Start(); err != nil {
		return fmt.Errorf("start the agent: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	defer func() {
		_ = agent.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = agent.Process.Kill()
		}
	}()

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan error, 2)
	go func() { work <- spawnLoop(wctx, o.spawnRate) }()
	go func() { work <- connLoop(wctx, o.connRate) }()

	var samples []sample
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(start) < o.duration {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			return fmt.Errorf("the agent exited: %v", err)
		case err := <-work:
			return fmt.Errorf("workload: %w", err)
		case <-tick.C:
		}
		s, err := scrape(ctx, "http://"+metricsAddr+"/metrics")
		if err != nil {
			continue // not serving yet, or between ticks: try again
		}
		s.at = time.Since(start)
		samples = append(samples, s)
	}
	cancel()
	if err := drawSVG(o.svg, samples); err != nil {
		return err
	}
	report(os.Stdout, samples)
	if abs, err := filepath.Abs(o.svg); err == nil {
		fmt.Printf("  resident memory and heap over time: %s\n", abs)
	}
	return check(samples)
}

// sample is what one scrape of /metrics shows.
type sample struct {
	at                         time.Duration
	rss, heap, goroutines, fds float64
	instances, ticks, plugins  float64
}

// scrape reads the agent's /metrics text and picks the values a sample
// needs.
func scrape(ctx context.Context, url string) (sample, error) {
	var s sample
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return s, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := metricLine(line)
		if !ok {
			continue
		}
		switch {
		case name == "process_resident_memory_bytes":
			s.rss, found = value, true
		case name == "go_memstats_heap_inuse_bytes":
			s.heap = value
		case name == "go_goroutines":
			s.goroutines = value
		case name == "process_open_fds":
			s.fds = value
		case name == "proctag_ticks_total":
			s.ticks = value
		case strings.HasPrefix(name, "proctag_wasm_plugin_instances{"):
			s.instances += value
			s.plugins++
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if !found || s.ticks == 0 {
		return s, errors.New("no tick yet")
	}
	return s, nil
}

// metricLine splits "name{labels} value" into the name with its labels
// and the value.
func metricLine(line string) (string, float64, bool) {
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(line[i+1:], 64)
	return line[:i], v, err == nil
}

// maxInstancesPerPlugin is the largest instance pool a plugin may have.
const maxInstancesPerPlugin = 64

// check fails on growth past the tolerances (see the package doc).
func check(samples []sample) error {
	if len(samples) < 10 {
		return fmt.Errorf("only %d samples: the agent never served its metrics", len(samples))
	}
	if last := samples[len(samples)-1]; last.ticks < samples[0].ticks+float64(len(samples))/2 {
		return fmt.Errorf("ticks went from %.0f to %.0f in %d samples: the agent stalled", samples[0].ticks, last.ticks, len(samples))
	}
	var errs []error
	for _, s := range samples {
		if s.instances > s.plugins*maxInstancesPerPlugin {
			errs = append(errs, fmt.Errorf("%.0f wasm instances for %.0f plugins at %v", s.instances, s.plugins, s.at))
			break
		}
	}
	rest := samples[len(samples)/5:]
	a, b := rest[:len(rest)/2], rest[len(rest)/2:]
	grows := func(what string, get func(sample) float64, rel, abs float64) {
		ma, mb := maxOf(a, get), maxOf(b, get)
		if mb > ma*(1+rel)+abs {
			errs = append(errs, fmt.Errorf("%s grew from %.0f to %.0f (tolerance %.0f%% + %.0f)", what, ma, mb, rel*100, abs))
		}
	}
	grows("resident memory", func(s sample) float64 { return s.rss }, 0.20, 8<<20)
	grows("Go heap in use", func(s sample) float64 { return s.heap }, 0.20, 8<<20)
	grows("goroutines", func(s sample) float64 { return s.goroutines }, 0, 20)
	grows("open files", func(s sample) float64 { return s.fds }, 0, 20)
	return errors.Join(errs...)
}

func maxOf(ss []sample, get func(sample) float64) float64 {
	m := 0.0
	for _, s := range ss {
		m = max(m, get(s))
	}
	return m
}

// report prints a summary line per value.
func report(w io.Writer, ss []sample) {
	if len(ss) == 0 {
		return
	}
	first, last := ss[0], ss[len(ss)-1]
	fmt.Fprintf(w, "soak: %d samples over %v, %.0f ticks\n", len(ss), last.at.Round(time.Second), last.ticks-first.ticks)
	fmt.Fprintf(w, "  resident memory: first %.1f MiB, max %.1f MiB, last %.1f MiB\n", first.rss/(1<<20), maxOf(ss, func(s sample) float64 { return s.rss })/(1<<20), last.rss/(1<<20))
	fmt.Fprintf(w, "  Go heap in use: first %.1f MiB, max %.1f MiB, last %.1f MiB\n", first.heap/(1<<20), maxOf(ss, func(s sample) float64 { return s.heap })/(1<<20), last.heap/(1<<20))
	fmt.Fprintf(w, "  goroutines: first %.0f, max %.0f, last %.0f\n", first.goroutines, maxOf(ss, func(s sample) float64 { return s.goroutines }), last.goroutines)
	fmt.Fprintf(w, "  open files: first %.0f, max %.0f, last %.0f\n", first.fds, maxOf(ss, func(s sample) float64 { return s.fds }), last.fds)
	fmt.Fprintf(w, "  wasm instances: max %.0f over %.0f plugins\n", maxOf(ss, func(s sample) float64 { return s.instances }), last.plugins)
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// spawnLoop starts rate short-lived processes a second until ctx ends,
// and reaps them.
func spawnLoop(ctx context.Context, rate int) error {
	if rate <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(time.Second / time.Duration(rate))
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		life := fmt.Sprintf("%.2f", rand.Float64()*3)
		cmd := exec.Command("/bin/sleep", life)
		cmd.Args[0] = fmt.Sprintf("soak-worker-%d", n%100)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start a worker: %w", err)
		}
		go func() { _ = cmd.Wait() }()
	}
}

// connLoop opens and closes rate loopback connections a second until ctx
// ends, keeping each open for a random time up to 2 s.
func connLoop(ctx context.Context, rate int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	if rate <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(time.Second / time.Duration(rate))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		hold := time.Duration(rand.Float64() * float64(2*time.Second))
		time.AfterFunc(hold, func() { c.Close() })
	}
}
