package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/watch"
)

func newWatchCmd(g *globals) *cobra.Command {
	var opt watch.Options
	var format string
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Live view of hosts from NATS; --once --format json prints their current state and exits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "json" && format != "table" && format != "lines" {
				return fmt.Errorf("--format %q is not table, lines or json", format)
			}
			if format == "json" && !opt.Once {
				return fmt.Errorf("--format json needs --once")
			}
			opt.Terminal = format == "table" && isTerminal(os.Stdout)
			opt.Width = terminalWidth()
			return watch.Run(cmd.Context(), cmd.OutOrStdout(), opt, g.logger("warn").Named("watch"))
		},
	}
	cmd.Flags().StringVarP(&opt.URL, "server", "s", "nats://127.0.0.1:4222", "NATS server URL")
	cmd.Flags().StringVar(&opt.Prefix, "prefix", "proctag", "the agents' nats.subject-prefix")
	cmd.Flags().StringVar(&opt.HostID, "host", "", "follow one host id (default: all hosts)")
	cmd.Flags().BoolVar(&opt.Once, "once", false, "print the current state of the hosts and exit")
	cmd.Flags().StringVarP(&format, "format", "o", "table", "table (live, in place on a terminal), lines, or json (with --once)")
	cmd.Flags().DurationVar(&opt.Wait, "wait", 15*time.Second, "with --once: how long to wait for a first state")
	cmd.Flags().DurationVar(&opt.Settle, "settle", time.Second, "with --once and no --host: how long to collect further hosts")
	return cmd
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
