package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/render"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// Options say what to follow and how to show it.
type Options struct {
	// URL is the NATS server; Prefix the agents' subject prefix; HostID
	// one host or "" for all.
	URL, Prefix, HostID string
	// Terminal redraws a table in place (ANSI) instead of writing lines;
	// Width is the terminal's width.
	Terminal bool
	Width    int
	// Once prints the current state of the hosts as JSON and returns.
	// Wait bounds how long it waits for the first state; Settle is how
	// long it keeps collecting further hosts after the first one.
	Once   bool
	Wait   time.Duration
	Settle time.Duration
}

// Run follows the hosts until ctx is done (or, with Once, until it printed).
func Run(ctx context.Context, w io.Writer, opt Options, logger hclog.Logger) error {
	nc, err := nats.Connect(opt.URL, nats.Name("proctag watch"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect %s: %w", opt.URL, err)
	}
	defer nc.Close()
	sub, err := natssub.New(nc, natssub.Config{Prefix: opt.Prefix, HostID: opt.HostID}, logger)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if opt.Once {
		return once(ctx, w, sub, opt)
	}
	return live(ctx, w, sub, opt, done)
}

// once waits for the first host state (up to Wait), then Settle more for
// other hosts, and prints one JSON object per host.
func once(ctx context.Context, w io.Writer, sub *natssub.Subscriber, opt Options) error {
	wait := time.NewTimer(opt.Wait)
	defer wait.Stop()
	var settle <-chan time.Time
	for settle == nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait.C:
			return fmt.Errorf("no host state within %s on %s (is an agent running with this prefix?)", opt.Wait, opt.URL)
		case c, ok := <-sub.Changes():
			if !ok {
				return fmt.Errorf("subscription ended before a state arrived")
			}
			if c.State != nil {
				if opt.HostID != "" {
					settle = closed()
				} else {
					settle = time.After(opt.Settle)
				}
			}
		}
	}
	for loop := true; loop; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-settle:
			loop = false
		case <-sub.Changes():
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	for _, h := range sub.Hosts() {
		if s, ok := sub.State(h); ok {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func closed() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}

// live shows every change until ctx is done.
func live(ctx context.Context, w io.Writer, sub *natssub.Subscriber, opt Options, done <-chan error) error {
	if !opt.Terminal {
		fmt.Fprintf(w, "watching %s on %s\n", subjectHosts(opt.HostID), opt.URL)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case c, ok := <-sub.Changes():
			if !ok {
				return <-done
			}
			if opt.Terminal {
				redraw(w, sub, opt.Width)
			} else {
				line(w, c)
			}
		}
	}
}

func subjectHosts(id string) string {
	if id == "" {
		return "all hosts"
	}
	return "host " + id
}

// redraw clears the screen and prints a table per host.
func redraw(w io.Writer, sub *natssub.Subscriber, width int) {
	io.WriteString(w, "\x1b[H\x1b[2J")
	for _, h := range sub.Hosts() {
		s, ok := sub.State(h)
		if !ok {
			continue
		}
		info, _ := sub.Info(h)
		sync := "in sync"
		if !info.Synced {
			sync = "resyncing"
		}
		fmt.Fprintf(w, "== %s  epoch %s  seq %d  %s\n", h, info.Epoch, info.Seq, sync)
		render.Table(w, s, width)
		io.WriteString(w, "\n")
	}
}

// line writes one change as a line.
func line(w io.Writer, c snapshot.Change) {
	ts := time.Now().Format("15:04:05")
	switch {
	case c.NeedResync:
		fmt.Fprintf(w, "%s %s %s: resync needed: %s\n", ts, c.HostID, c.Kind, c.Reason)
	case c.Delta != nil:
		d := c.Delta
		fmt.Fprintf(w, "%s %s delta seq %d: +%d ~%d -%d processes, +%d -%d sockets\n", ts, c.HostID, c.Seq,
			len(d.Added), len(d.Changed), len(d.Removed), len(d.SocketsAdded), len(d.SocketsRemoved))
	case c.Stats != nil:
		fmt.Fprintf(w, "%s %s heartbeat seq %d: %d processes, %d sockets, scan %dµs\n", ts, c.HostID, c.Seq,
			c.Stats.Processes, c.Stats.Sockets, c.Stats.ScanMicros)
	case c.State != nil:
		fmt.Fprintf(w, "%s %s %s seq %d: %d processes, %d sockets\n", ts, c.HostID, c.Kind, c.Seq,
			len(c.State.Processes), len(c.State.Sockets))
	}
}
