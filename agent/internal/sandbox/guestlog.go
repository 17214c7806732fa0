package sandbox

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
)

// Guest log limits: a plugin may write logBurst lines at once and logRate
// lines per second after that; a line is cut at abi.MaxLogBytes.
const (
	logBurst = 20
	logRate  = 5
)

// Guest output limits: a plugin's stdout or stderr takes in outputBurst
// bytes at once and outputRate bytes per second after that, far more than
// its lines may log; past that a write fails, and fd_write returns an
// error to the guest. Without it one fd_write of millions of iovecs over
// the whole memory kept the host scanning for line ends for minutes,
// where no deadline check runs.
const (
	outputBurst = 256 << 10
	outputRate  = 64 << 10
)

// errOutputBudget is a write past a plugin's output budget.
var errOutputBudget = errors.New("plugin output past its budget")

// guestLog turns what one plugin writes (proctag_v1.log, stdout, stderr)
// into agent log lines named after the plugin. It is shared by all
// instances of the plugin and safe for concurrent use.
type guestLog struct {
	logger hclog.Logger
	now    func() time.Time
	// droppedTotal, when set, counts every line dropped by the rate limit
	// (the plugin's stats).
	droppedTotal *atomic.Uint64

	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int
	// prev is the last line logged, at prevAt; the same line again within
	// repeatWindow is only counted in repeats.
	prev    string
	prevAt  time.Time
	repeats int
}

// repeatWindow is how long an identical guest line is only counted.
const repeatWindow = time.Minute

func newGuestLog(logger hclog.Logger, now func() time.Time) *guestLog {
	return &guestLog{logger: logger, now: now, tokens: logBurst}
}

// admit decides whether msg is logged: an identical line within
// repeatWindow is counted, not logged; other lines take a token from the
// bucket. It returns the counts to attach to a logged line.
func (g *guestLog) admit(msg string) (ok bool, dropped, repeats int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if msg == g.prev && now.Sub(g.prevAt) < repeatWindow {
		g.repeats++
		return false, 0, 0
	}
	if !g.last.IsZero() {
		g.tokens = min(g.tokens+now.Sub(g.last).Seconds()*logRate, logBurst)
	}
	g.last = now
	if g.tokens < 1 {
		g.dropped++
		if g.droppedTotal != nil {
			g.droppedTotal.Add(1)
		}
		return false, 0, 0
	}
	g.tokens--
	dropped, repeats = g.dropped, g.repeats
	g.dropped, g.repeats, g.prev, g.prevAt = 0, 0, msg, now
	return true, dropped, repeats
}

// emit logs one guest line at level; text is copied into a string, cut at
// abi.MaxLogBytes, invalid UTF-8 replaced.
func (g *guestLog) emit(level hclog.Level, source string, text []byte) {
	text = text[:min(len(text), abi.MaxLogBytes)] // a cut rune becomes U+FFFD
	msg := string(bytes.ToValidUTF8(text, []byte("\uFFFD")))
	ok, dropped, repeats := g.admit(msg)
	if !ok {
		return
	}
	args := []any{"source", source, "text", msg}
	if dropped > 0 {
		args = append(args, "dropped_before", dropped)
	}
	if repeats > 0 {
		args = append(args, "previous_repeated", repeats)
	}
	g.logger.Log(level, "plugin output", args...)
}

// close logs what the limiter held back since the last line it let
// through, so that a short run (`proctag scan`) still says how many guest
// lines it dropped or folded.
func (g *guestLog) close() {
	g.mu.Lock()
	dropped, repeats := g.dropped, g.repeats
	g.dropped, g.repeats = 0, 0
	g.mu.Unlock()
	if dropped > 0 || repeats > 0 {
		g.logger.Warn("plugin output held back by the rate limit", "dropped", dropped, "repeated", repeats)
	}
}

// hostLog is the proctag_v1.log import: level 1..4 as abi.LogLevel.
func (g *guestLog) hostLog(level abi.LogLevel, text []byte) {
	var l hclog.Level
	switch level {
	case abi.LevelError:
		l = hclog.Error
	case abi.LevelWarn:
		l = hclog.Warn
	case abi.LevelDebug:
		l = hclog.Debug
	default:
		l = hclog.Info
	}
	g.emit(l, "log", text)
}

// lineWriter is a guest's stdout or stderr: an io.Writer that logs one line
// per '\n', holds at most abi.MaxLogBytes of an unfinished line (the rest of
// a too-long line is cut), and is safe for concurrent use.
type lineWriter struct {
	log    *guestLog
	source string
	level  hclog.Level

	mu  sync.Mutex
	buf []byte
	cut bool
	// budget is what may be written (outputBurst, outputRate).
	budget byteBudget
}

// Write implements io.Writer. It takes in at most what the output budget
// allows (outputBurst, outputRate) and fails with errOutputBudget past it,
// so that a guest's fd_write costs the host bounded work.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.budget.take(w.log.now(), len(p), outputBurst, outputRate)
	w.take(p[:n])
	if n < len(p) {
		return n, errOutputBudget
	}
	return n, nil
}

// take logs the lines p ends and keeps the start of an unfinished one.
func (w *lineWriter) take(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := abi.MaxLogBytes - len(w.buf); !w.cut && room > 0 {
			w.buf = append(w.buf, chunk[:min(room, len(chunk))]...)
			if len(chunk) > room {
				w.cut = true
			}
		}
		if i < 0 {
			break
		}
		w.flushLocked()
		p = p[i+1:]
	}
}

func (w *lineWriter) flushLocked() {
	if len(w.buf) > 0 {
		w.log.emit(w.level, w.source, w.buf)
	}
	w.buf = w.buf[:0]
	w.cut = false
}

// Flush logs an unfinished line, if any; called when an instance closes.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}
