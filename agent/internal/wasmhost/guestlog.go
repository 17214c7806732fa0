package wasmhost

import (
	"bytes"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
)

// Guest log limits: a plugin may write logBurst lines at once and logRate
// lines per second after that; a line is cut at abi.MaxLogBytes.
const (
	logBurst = 20
	logRate  = 5
)

// guestLog turns what one plugin writes (proctag_v1.log, stdout, stderr)
// into agent log lines named after the plugin. It is shared by all
// instances of the plugin and safe for concurrent use.
type guestLog struct {
	logger hclog.Logger
	now    func() time.Time

	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int
}

func newGuestLog(logger hclog.Logger, now func() time.Time) *guestLog {
	return &guestLog{logger: logger, now: now, tokens: logBurst}
}

// allow takes one token from the bucket; it reports how many lines were
// dropped since the last allowed one when it lets a line through.
func (g *guestLog) allow() (ok bool, dropped int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if !g.last.IsZero() {
		g.tokens += now.Sub(g.last).Seconds() * logRate
		if g.tokens > logBurst {
			g.tokens = logBurst
		}
	}
	g.last = now
	if g.tokens < 1 {
		g.dropped++
		return false, 0
	}
	g.tokens--
	dropped, g.dropped = g.dropped, 0
	return true, dropped
}

// emit logs one guest line at level; text is copied into a string, cut at
// abi.MaxLogBytes on a rune boundary, invalid UTF-8 replaced.
func (g *guestLog) emit(level hclog.Level, source string, text []byte) {
	ok, dropped := g.allow()
	if !ok {
		return
	}
	if len(text) > abi.MaxLogBytes {
		text = text[:abi.MaxLogBytes]
		for len(text) > 0 && !utf8.Valid(text) {
			text = text[:len(text)-1]
		}
	}
	msg := string(bytes.ToValidUTF8(text, []byte("\uFFFD")))
	if dropped > 0 {
		g.logger.Log(level, "plugin output", "source", source, "text", msg, "dropped_before", dropped)
		return
	}
	g.logger.Log(level, "plugin output", "source", source, "text", msg)
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
}

// Write implements io.Writer; it never fails, so a guest's fd_write always
// succeeds.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
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
	return n, nil
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
