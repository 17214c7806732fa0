package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/proctag/proctag/agent/internal/bench/report"
)

// options are the command's flags.
type options struct {
	// hosts, procs and sockets size the fleet.
	hosts, procs, sockets int
	// interval is every agent's tick interval.
	interval time.Duration
	// churn is the share of hosts that change at each tick in the churn
	// phases; churnJobs and churnConns what one such tick changes.
	churn                 float64
	churnJobs, churnConns int
	// quietTicks and churnTicks are the measurement windows, in intervals.
	quietTicks, churnTicks int
	seed                   uint64
	// profiles, when set, is a directory where each subscriber child
	// writes its CPU profile (name.prof).
	profiles string
}

// quickOptions are what -quick changes; a flag given explicitly wins.
var quickOptions = map[string]string{"hosts": "100", "interval": "2s"}

func main() {
	if isChild(os.Args[1:]) {
		if err := runChild(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "fleet subscriber:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	fs := flag.NewFlagSet("fleet", flag.ExitOnError)
	fs.IntVar(&o.hosts, "hosts", 1000, "simulated hosts, each with its own publisher and NATS connection")
	fs.IntVar(&o.procs, "procs", 300, "processes per host")
	fs.IntVar(&o.sockets, "sockets", 3000, "sockets per host: listeners, loopback pairs, connections to and from other hosts")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "every agent's tick interval")
	fs.Float64Var(&o.churn, "churn", 0.1, "share of the hosts that change at each tick in the churn phase")
	fs.IntVar(&o.churnJobs, "churn-procs", 2, "processes that end and as many that start in one churning tick")
	fs.IntVar(&o.churnConns, "churn-conns", 10, "connections to other hosts that close and as many that open in one churning tick (and a tenth as many loopback ones)")
	fs.IntVar(&o.quietTicks, "quiet-ticks", 3, "intervals of the quiet window")
	fs.IntVar(&o.churnTicks, "churn-ticks", 3, "intervals of the churn window")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated fleet and its churn")
	fs.StringVar(&o.profiles, "child-profiles", "", "directory where each subscriber child writes its CPU profile (subscriber.prof, late-subscriber.prof)")
	quick := fs.Bool("quick", false, "a smaller, faster fleet (about 1-2 minutes): -hosts 100 -interval 2s")
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
	if o.hosts < 3 || o.interval <= 0 || o.churn < 0 || o.churn > 1 || o.quietTicks < 1 || o.churnTicks < 1 {
		fmt.Fprintln(os.Stderr, "fleet: -hosts ≥ 3, -interval > 0, -churn in [0, 1], windows ≥ 1 interval")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
	f, err := run(ctx, o, self, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
	if err := f.print(os.Stdout, o); err != nil || report.AnyFailed(f.rows()) {
		fmt.Fprintln(os.Stderr, "fleet: a measurement failed")
		os.Exit(1)
	}
}

// print writes the header lines and the table.
func (f *figures) print(w io.Writer, o options) error {
	fmt.Fprintf(w, "fleet: %d simulated hosts × %d processes × ~%d sockets (%d in all), each its own publisher and NATS connection; "+
		"interval %v; churn phase: %.0f %% of the hosts a tick, each %d processes and %d connections replaced; "+
		"3-node nats-server cluster in this process, JetStream stream on 3 replicas; %s\n",
		o.hosts, o.procs, o.sockets, f.sockets, o.interval, 100*o.churn, o.churnJobs, o.churnConns, machine())
	return report.WriteTable(w, f.rows())
}

// machine names the kernel and the CPUs.
func machine() string {
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return fmt.Sprintf("%d CPUs", runtime.NumCPU())
	}
	return fmt.Sprintf("kernel %s, %d CPUs", strings.TrimSpace(string(rel)), runtime.NumCPU())
}
