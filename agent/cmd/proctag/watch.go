package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/watchview"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

func newWatchCmd(g *globals) *cobra.Command {
	var nf natsFlags
	var host, format string
	var once bool
	var wait, settle time.Duration
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Live view of hosts from NATS; --once --format json prints their current state and exits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "json" && format != "table" {
				return fmt.Errorf("--format %q is not table or json", format)
			}
			if format == "json" && !once {
				return fmt.Errorf("--format json needs --once")
			}
			logger := g.logger("warn")
			nc, err := nf.connect(nats.Name("proctag watch"), nats.MaxReconnects(-1))
			if err != nil {
				return err
			}
			defer nc.Close()
			sub, err := natssub.New(nc, natssub.Config{Prefix: nf.prefix, HostID: host}, logger)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			done := make(chan error, 1)
			go func() { done <- sub.Run(ctx) }()
			defer func() { cancel(); <-done }()
			out := cmd.OutOrStdout()
			if once {
				wctx, wcancel := context.WithTimeout(ctx, wait)
				defer wcancel()
				if settle <= 0 && host == "" {
					settle = onceSettle(wctx, sub)
				}
				oc := watchview.OnceConfig{Settle: settle, Format: format, Width: terminalWidth()}
				if host != "" {
					oc.Hosts = []string{host}
				}
				return watchview.Once(wctx, sub, out, oc)
			}
			return watchview.Run(ctx, sub, out, watchview.Config{TTY: isTerminal(os.Stdout), Width: terminalWidth()})
		},
	}
	nf.add(cmd)
	cmd.Flags().StringVar(&host, "host", "", "follow one host id (default: all hosts)")
	cmd.Flags().BoolVar(&once, "once", false, "print the current state of the hosts and exit")
	cmd.Flags().StringVarP(&format, "format", "o", "table", "table, or json (with --once)")
	cmd.Flags().DurationVar(&wait, "wait", 15*time.Second, "with --once: how long to wait for the hosts' state")
	cmd.Flags().DurationVar(&settle, "settle", 0, "with --once and no --host: how long to wait for more hosts after the last new one "+
		"(default 1s with the agents' JetStream stream, else the first host's tick interval plus 1s: without the stream a host is asked for its state when its next message comes)")
	return cmd
}

// onceSettle is --settle's default. From the JetStream stream every host
// comes at once: 1 s. Without it, each host joins when its next message
// arrives, within its tick interval: wait for the first host, then one of
// its intervals and a second more.
func onceSettle(ctx context.Context, sub *natssub.Subscriber) time.Duration {
	select {
	case <-sub.Ready():
	case <-ctx.Done():
		return time.Second
	}
	if sub.UsesJetStream() {
		return time.Second
	}
	for len(sub.Hosts()) == 0 {
		select {
		case _, ok := <-sub.Changes():
			if !ok {
				return time.Second
			}
		case <-ctx.Done():
			return time.Second
		}
	}
	var interval time.Duration
	for _, h := range sub.Hosts() {
		if info, ok := sub.Info(h); ok {
			interval = max(interval, info.Interval)
		}
	}
	return interval + time.Second
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
