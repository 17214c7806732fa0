package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/bench/report"
)

// options are the command's flags.
type options struct {
	// proctag is the agent binary.
	proctag string
	// holders × socketsPerHolder is the quiet load.
	holders, socketsPerHolder int
	// repeat is how many cold scans of each kind run.
	repeat int
	// interval is the agent's tick interval; idleInterval its interval
	// in the idle windows, short enough that whole periods of
	// events-full-rescan-every ticks fit in them (see idleWindow).
	interval, idleInterval time.Duration
	// idleOnly runs the quiet load and the idle windows only.
	idleOnly bool
	// warmup, idle and churn are the measurement windows.
	warmup, idle, churn time.Duration
	// idleMinLifetime is the agents' os-proc-socket-min-lifetime in the
	// idle window (the others run with 0).
	idleMinLifetime time.Duration
	// churnRate and outboundRate are the clients' connections a second,
	// each held linger.
	churnRate, outboundRate int
	linger                  time.Duration
	// probes new processes start, one every probeGap on average.
	probes   int
	probeGap time.Duration
	// treeProcs and treeSockets size the generated host (0 processes:
	// none), on which the agent runs for treeWindow.
	treeProcs, treeSockets int
	treeWindow             time.Duration
}

// quickOptions are what -quick changes, for a run of at most about two
// minutes; a flag given explicitly wins.
var quickOptions = map[string]string{"warmup": "5s", "idle": "15s", "idle-interval": "1s", "churn": "10s", "probes": "10", "tree-window": "20s"}

func main() {
	if isChild(os.Args[1:]) {
		if err := runChild(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "realhost child:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	fs := flag.NewFlagSet("realhost", flag.ExitOnError)
	fs.StringVar(&o.proctag, "proctag", "../bin/proctag", "the proctag binary (make build)")
	fs.IntVar(&o.holders, "holders", 50, "processes holding the quiet load's sockets")
	fs.IntVar(&o.socketsPerHolder, "sockets-per-holder", 2000, "established sockets each holder holds (both ends of half as many connections)")
	fs.IntVar(&o.repeat, "repeat", 3, "cold scans of each kind; the medians compare")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "the agent's os-proc-socket-sync-interval (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", 15*time.Second, "time after the agent's first state before the idle window")
	fs.DurationVar(&o.idle, "idle", 2*time.Minute, "idle window for the agent's CPU per minute, rounded up to whole periods of events-full-rescan-every (60) ticks at -idle-interval")
	fs.DurationVar(&o.idleInterval, "idle-interval", 2*time.Second, "the agents' os-proc-socket-sync-interval (whole seconds) in the idle windows, so that the events mode's full re-read period (60 ticks) fits in the window")
	fs.BoolVar(&o.idleOnly, "idle-only", false, "run the quiet load and the idle windows only (no cold scans, churn, latency or generated host)")
	fs.DurationVar(&o.idleMinLifetime, "idle-min-lifetime", 3*time.Second, "the agent's os-proc-socket-min-lifetime (whole seconds) in the idle window; the latency and churn agents run with 0")
	fs.DurationVar(&o.churn, "churn", 30*time.Second, "how long the churn clients dial")
	fs.IntVar(&o.churnRate, "churn-rate", 1000, "short connections a second from the churn client")
	fs.IntVar(&o.outboundRate, "outbound-rate", 100, "connections a second from the outbound client")
	fs.DurationVar(&o.linger, "hold", 20*time.Millisecond, "how long each churn connection is held")
	fs.IntVar(&o.probes, "probes", 20, "short processes for the new process latency")
	fs.DurationVar(&o.probeGap, "probe-gap", 500*time.Millisecond, "mean time between two probes")
	fs.IntVar(&o.treeProcs, "tree-procs", 10000, "processes of the generated host (0: no generated host)")
	fs.IntVar(&o.treeSockets, "tree-sockets", 100000, "sockets of the generated host")
	fs.DurationVar(&o.treeWindow, "tree-window", 2*time.Minute, "how long the agent polls the generated host")
	quick := fs.Bool("quick", false, "short windows (about 4 minutes in all): "+quickList())
	_ = fs.Parse(os.Args[1:])
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range quickOptions {
			if !set[name] {
				_ = fs.Set(name, v)
			}
		}
	}
	for name, d := range map[string]time.Duration{"interval": o.interval, "idle-interval": o.idleInterval} {
		if d < time.Second || d%time.Second != 0 {
			fmt.Fprintf(os.Stderr, "realhost: -%s %v is not a whole number of seconds\n", name, d)
			os.Exit(2)
		}
	}
	o.idle, _ = idleWindow(o.idle, o.idleInterval)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "realhost:", err)
		os.Exit(1)
	}
}

// quickList describes quickOptions.
func quickList() string {
	var s []string
	for _, k := range []string{"warmup", "idle", "idle-interval", "churn", "probes", "tree-window"} {
		s = append(s, "-"+k+" "+quickOptions[k])
	}
	return strings.Join(s, " ")
}

// harness is what the measurements share: the options, this binary (for
// the child modes), the process groups started, a scratch directory.
type harness struct {
	opts  options
	self  string
	g     *groups
	dir   string
	start time.Time
}

// logf prints progress on stderr, with the time since the start.
func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "realhost %6.1fs: %s\n", time.Since(h.start).Seconds(), fmt.Sprintf(format, args...))
}

// run sets up the quiet load, runs every measurement and prints the
// table on out.
func run(ctx context.Context, o options, out io.Writer) error {
	bin, err := filepath.Abs(o.proctag)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("the agent binary: %w (make build)", err)
	}
	o.proctag = bin
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "realhost-")
	if err != nil {
		return err
	}
	keep := os.Getenv("REALHOST_KEEP") != ""
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	h := &harness{opts: o, self: self, g: newGroups(), dir: dir, start: time.Now()}
	defer h.g.killAll()

	var treeRows []report.Row
	if o.treeProcs > 0 && !o.idleOnly {
		treeRows = h.treeRows(ctx)
	}

	holders, err := h.startHolders(ctx)
	defer func() { stopAll(holders) }()
	if err != nil {
		return err
	}
	var rows []report.Row
	if !o.idleOnly {
		rows = h.coldScan(ctx, "/proc", "", scanTarget{cpu: coldScanTarget})
	}
	on := h.runSession(ctx, "on", true)
	off := h.runSession(ctx, "off", false)
	if err := ctx.Err(); err != nil {
		return err
	}
	rows = append(rows, idleRows(on, off, o.idle, o.idleInterval)...)
	if !o.idleOnly {
		rows = append(rows, churnRow(on, off), latencyRow(on, o.interval))
	}
	rows = append(rows, treeRows...)
	stopAll(holders)
	holders = nil

	fmt.Fprintf(out, "realhost: %s; %s\n", version(bin), machine())
	fmt.Fprintf(out, "load: %d holder processes × %d ESTABLISHED loopback sockets = %d (+%d listeners), present throughout; "+
		"churn %d+%d conns/s held %v for %v, with the load; agent interval %v; idle window %v at a %v interval after %v warm-up with min-lifetime %v, "+
		"full-rescan-every %d, events-full-rescan-every %d; latency and churn with min-lifetime 0\n",
		o.holders, o.socketsPerHolder, o.holders*(o.socketsPerHolder/2)*2, o.holders,
		o.churnRate, o.outboundRate, o.linger, o.churn, o.interval, o.idle, o.idleInterval, o.warmup, o.idleMinLifetime,
		fullRescanEvery, eventsFullRescanEvery)
	if err := report.WriteTable(out, rows); err != nil {
		return err
	}
	if report.AnyFailed(rows) {
		keep = true
		fmt.Fprintf(out, "agent configs and logs kept in %s\n", dir)
		return errors.New("a measurement failed")
	}
	return nil
}

// startHolders starts the holders and waits until every one holds its
// connections. The children are returned even on error, to be stopped.
func (h *harness) startHolders(ctx context.Context) ([]*child, error) {
	h.logf("starting %d holders of %d sockets", h.opts.holders, h.opts.socketsPerHolder)
	n := fmt.Sprintf("-child-hold=%d", max(h.opts.socketsPerHolder/2, 1))
	var cs []*child
	for i := range h.opts.holders {
		c, err := startChild(h.g, h.self, fmt.Sprintf("holder %d", i), n)
		if err != nil {
			return cs, err
		}
		cs = append(cs, c)
	}
	deadline := time.Now().Add(readyTimeout)
	for _, c := range cs {
		if _, err := c.ready(ctx, time.Until(deadline)); err != nil {
			return cs, err
		}
	}
	h.logf("holders ready")
	return cs, nil
}

// stopAll stops children, all asked at once.
func stopAll(cs []*child) {
	for _, c := range cs {
		c.stdin.Close()
	}
	for _, c := range cs {
		_ = c.stop(30 * time.Second)
	}
}

// version is the first line of `proctag version`.
func version(bin string) string {
	b, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "proctag version: " + err.Error()
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return first
}

// machine names the kernel and the CPUs.
func machine() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("kernel %s, %d CPUs", unix.ByteSliceToString(u.Release[:]), runtime.NumCPU())
}
