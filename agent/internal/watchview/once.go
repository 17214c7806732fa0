package watchview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/proctag/proctag/agent/internal/render"
)

// OnceConfig is `proctag watch --once`.
type OnceConfig struct {
	// Hosts to wait for; empty waits for any host, then for Settle without
	// a new one.
	Hosts []string
	// Settle is how long to wait for more hosts after the last new one when
	// Hosts is empty; default 1 s.
	Settle time.Duration
	// Format is "json" (default: one object per host, as `proctag scan
	// --format json`) or "table".
	Format string
	// Width is the table width.
	Width int
}

// ErrNoHosts is returned by Once when ctx ends before any awaited host has
// a state.
var ErrNoHosts = errors.New("no host state received")

// Once waits until the awaited hosts have a state (the subscriber asks for
// them on join), prints each host's state sorted by host id, and returns.
// Bound the wait with ctx; when it ends with some hosts missing, Once
// prints those it has and returns an error naming the others.
func Once(ctx context.Context, src Source, w io.Writer, cfg OnceConfig) error {
	if cfg.Settle <= 0 {
		cfg.Settle = time.Second
	}
	if cfg.Format == "" {
		cfg.Format = "json"
	}
	if cfg.Format != "json" && cfg.Format != "table" {
		return fmt.Errorf("watch once: format %q is not json or table", cfg.Format)
	}
	err := wait(ctx, src, cfg)
	hosts := src.Hosts()
	if len(cfg.Hosts) > 0 {
		hosts = slices.DeleteFunc(hosts, func(h string) bool { return !slices.Contains(cfg.Hosts, h) })
	}
	for _, h := range hosts {
		s, ok := src.State(h)
		if !ok {
			continue
		}
		var werr error
		if cfg.Format == "json" {
			werr = render.JSON(w, s)
		} else {
			werr = render.Table(w, s, cfg.Width)
		}
		if werr != nil {
			return werr
		}
	}
	return err
}

func wait(ctx context.Context, src Source, cfg OnceConfig) error {
	missing := func() []string {
		var m []string
		for _, h := range cfg.Hosts {
			if _, ok := src.State(h); !ok {
				m = append(m, h)
			}
		}
		return m
	}
	var settle *time.Timer
	var settleC <-chan time.Time
	defer func() {
		if settle != nil {
			settle.Stop()
		}
	}()
	known := len(src.Hosts())
	for {
		if len(cfg.Hosts) > 0 && len(missing()) == 0 {
			return nil
		}
		if len(cfg.Hosts) == 0 && known > 0 && settle == nil {
			settle = time.NewTimer(cfg.Settle)
			settleC = settle.C
		}
		select {
		case <-ctx.Done():
			if m := missing(); len(m) > 0 {
				return fmt.Errorf("watch once: %w for %v", ErrNoHosts, m)
			}
			if len(src.Hosts()) == 0 {
				return fmt.Errorf("watch once: %w", ErrNoHosts)
			}
			return nil
		case <-settleC:
			return nil
		case _, ok := <-src.Changes():
			if !ok {
				return fmt.Errorf("watch once: subscriber stopped: %w", ErrNoHosts)
			}
			if n := len(src.Hosts()); n > known {
				known = n
				if settle != nil {
					settle.Reset(cfg.Settle)
				}
			}
		}
	}
}
