package watchview

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/proctag/proctag/agent/internal/render"
	"github.com/proctag/proctag/agent/snapshot"
)

// Source is what the view reads; *natssub.Subscriber implements it.
type Source interface {
	Hosts() []string
	State(host string) (*snapshot.Snapshot, bool)
	Info(host string) (snapshot.HostInfo, bool)
	Changes() <-chan snapshot.Change
}

// Config says how to show. The zero value writes lines.
type Config struct {
	// TTY redraws a table per host in place with ANSI escapes; otherwise
	// one line per change is written.
	TTY bool
	// Width is the terminal width for tables; 0 is render's default.
	Width int
	// Refresh is the shortest time between two redraws in TTY mode;
	// default 250 ms.
	Refresh time.Duration
	// Now gives the time shown in headers; default time.Now.
	Now func() time.Time
}

// ANSI sequences: cursor home and clear screen.
const clearScreen = "\x1b[H\x1b[2J"

// Run shows src until ctx is done or src's Changes closes; it returns nil
// then, or the first write error.
func Run(ctx context.Context, src Source, w io.Writer, cfg Config) error {
	if cfg.Refresh <= 0 {
		cfg.Refresh = 250 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if !cfg.TTY {
		for {
			select {
			case <-ctx.Done():
				return nil
			case c, ok := <-src.Changes():
				if !ok {
					return nil
				}
				if _, err := io.WriteString(w, Line(c, cfg.Now())); err != nil {
					return err
				}
			}
		}
	}
	tick := time.NewTicker(cfg.Refresh)
	defer tick.Stop()
	dirty := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-src.Changes():
			if !ok {
				return nil
			}
			dirty = true
		case <-tick.C:
			if !dirty {
				continue
			}
			dirty = false
			if err := Frame(w, src, cfg); err != nil {
				return err
			}
		}
	}
}

// Frame writes one full screen: clear, then for each host a status line and
// its table. It builds the frame in memory and writes it at once, so the
// terminal never shows half a frame.
func Frame(w io.Writer, src Source, cfg Config) error {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var b bytes.Buffer
	b.WriteString(clearScreen)
	hosts := src.Hosts()
	fmt.Fprintf(&b, "proctag watch  %s  hosts %d\n", cfg.Now().UTC().Format("15:04:05"), len(hosts))
	if len(hosts) == 0 {
		b.WriteString("\nwaiting for hosts…\n")
	}
	for _, h := range hosts {
		s, ok := src.State(h)
		if !ok {
			continue
		}
		info, _ := src.Info(h)
		fmt.Fprintf(&b, "\n%s\n", status(info, cfg.Now()))
		if err := render.Table(&b, s, cfg.Width); err != nil {
			return err
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// status is the line above a host's table: sync state, epoch, seq, age.
func status(info snapshot.HostInfo, now time.Time) string {
	sync := "in sync"
	if !info.Synced {
		sync = "STALE (resync requested)"
	}
	age := "-"
	if !info.LastScan.IsZero() {
		age = now.Sub(info.LastScan).Round(time.Second).String() + " ago"
	}
	line := fmt.Sprintf("[%s] %s  epoch %s  seq %d  last scan %s", render.Printable(info.HostID, ""), sync, render.Printable(info.Epoch, ""), info.Seq, age)
	if st := info.Stats; st != nil {
		line += fmt.Sprintf("  scan %s  plugin faults %d  reconnects %d",
			(time.Duration(st.ScanMicros) * time.Microsecond).Round(time.Millisecond), st.PluginFaults, st.Reconnects)
	}
	return line
}

// Line is the one-line account of a change, for output that is not a
// terminal.
func Line(c snapshot.Change, now time.Time) string {
	ts := now.UTC().Format(time.RFC3339)
	host := render.Printable(c.HostID, "") // from the subject: a client on the bus chose it
	if c.NeedResync {
		return fmt.Sprintf("%s %s resync reason=%q seq=%d\n", ts, host, c.Reason, c.Seq)
	}
	procs, socks := 0, 0
	if c.State != nil {
		procs, socks = len(c.State.Processes), c.State.NumSockets()
	}
	switch {
	case c.Kind == snapshot.KindDelta && c.Delta != nil:
		d := c.Delta
		return fmt.Sprintf("%s %s delta seq=%d processes=%d (+%d ~%d -%d) sockets=%d (+%d ~%d -%d)\n", ts, host, c.Seq,
			procs, len(d.Added), len(d.Changed), len(d.Removed), socks, len(d.SocketsAdded), len(d.SocketsChanged), len(d.SocketsRemoved))
	case c.Kind == snapshot.KindHeartbeat && c.Stats != nil:
		return fmt.Sprintf("%s %s hb seq=%d processes=%d sockets=%d scan_us=%d\n", ts, host, c.Seq, procs, socks, c.Stats.ScanMicros)
	}
	return fmt.Sprintf("%s %s %s seq=%d processes=%d sockets=%d\n", ts, host, c.Kind, c.Seq, procs, socks)
}
