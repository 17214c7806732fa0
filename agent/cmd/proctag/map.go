package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/proctag/proctag/agent/internal/render"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

func newMapCmd(g *globals) *cobra.Command {
	var nf natsFlags
	var format string
	var wait, settle time.Duration
	cmd := &cobra.Command{
		Use:   "map",
		Short: "Service map of the hosts on NATS: which process talks to which, as a table, JSON, Graphviz DOT or Mermaid",
		Long: "map follows every host on NATS until their states are in (--settle after the last new host, and each host in sync, " +
			"at most --wait), then prints one edge per client process, server process, protocol and server port with its " +
			"connections: open ones and the short ones seen while it followed. Ends on no followed host are addresses.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(render.ServiceMapFormats, format) {
				return fmt.Errorf("--format %q is not %s", format, strings.Join(render.ServiceMapFormats, ", "))
			}
			logger := g.logger(oneShotLevel)
			nc, err := nf.connect(nats.Name("proctag map"))
			if err != nil {
				return err
			}
			defer nc.Close()
			sub, err := natssub.New(nc, natssub.Config{Prefix: nf.prefix}, logger)
			if err != nil {
				return err
			}
			index := natssub.NewFlowIndex(natssub.FlowConfig{})
			ctx, cancel := context.WithCancel(cmd.Context())
			changed := make(chan struct{}, 1)
			done := make(chan struct{}, 2)
			go func() {
				_ = sub.Run(ctx)
				done <- struct{}{}
			}()
			go func() {
				index.Follow(ctx, sub, func(snapshot.Change) {
					select {
					case changed <- struct{}{}:
					default:
					}
				})
				done <- struct{}{}
			}()
			defer func() { cancel(); <-done; <-done }()
			wctx, wcancel := context.WithTimeout(ctx, wait)
			defer wcancel()
			if err := settleHosts(wctx, sub, changed, settle, logger); err != nil {
				return err
			}
			return render.ServiceMap(cmd.OutOrStdout(), index.ServiceMap(), format)
		},
	}
	nf.add(cmd)
	cmd.Flags().StringVarP(&format, "format", "o", "table", strings.Join(render.ServiceMapFormats, ", "))
	cmd.Flags().DurationVar(&wait, "wait", 15*time.Second, "how long to wait for the hosts' states at most")
	cmd.Flags().DurationVar(&settle, "settle", 0, "how long to wait for more hosts after the last new one "+
		"(default 1s with the agents' JetStream stream, else the first host's tick interval plus 1s: without the stream a host is asked for its state when its next message comes)")
	return cmd
}

// errNoHosts is returned by settleHosts when no host state came in time.
var errNoHosts = errors.New("no host state received")

// settleHosts waits until no new host came for settle and every host is
// in sync, or until ctx ends (then it warns about the hosts not in sync,
// or fails when there is none). changed is signalled after each change the
// index applied. A zero settle is 1 s with JetStream, else the longest
// tick interval of the first hosts plus 1 s.
func settleHosts(ctx context.Context, sub *natssub.Subscriber, changed <-chan struct{}, settle time.Duration, logger hclog.Logger) error {
	select {
	case <-sub.Ready():
	case <-ctx.Done():
		return fmt.Errorf("map: subscribe: %w", ctx.Err())
	}
	unsynced := func() []string {
		var out []string
		for _, h := range sub.Hosts() {
			if info, ok := sub.Info(h); !ok || !info.Synced {
				out = append(out, h)
			}
		}
		return out
	}
	known := -1
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if n := len(sub.Hosts()); n > known && n > 0 {
			known = n
			if settle <= 0 {
				settle = time.Second
				if !sub.UsesJetStream() {
					for _, h := range sub.Hosts() {
						if info, ok := sub.Info(h); ok {
							settle = max(settle, info.Interval+time.Second)
						}
					}
				}
			}
			timer.Reset(settle)
		}
		select {
		case <-changed:
		case <-timer.C:
			if len(unsynced()) == 0 {
				return nil
			}
			timer.Reset(settle)
		case <-ctx.Done():
			if len(sub.Hosts()) == 0 {
				return fmt.Errorf("map: %w", errNoHosts)
			}
			if u := unsynced(); len(u) > 0 {
				logger.Warn("hosts not in sync, their last state is mapped", "hosts", u)
			}
			return nil
		}
	}
}
