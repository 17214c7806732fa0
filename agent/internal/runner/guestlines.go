package runner

import (
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// guestLines keeps what each plugin logged at warn or error level while it
// loaded, so that a failed init is reported with the plugin's own words:
// ABI.md asks a plugin to log why before proctag_init returns non-zero,
// and wasmhost logs those lines as "plugin output". Safe for concurrent
// use.
type guestLines struct {
	mu    sync.Mutex
	lines map[string][]string // plugin name -> texts, oldest first
}

// maxGuestLines is how many lines per plugin are kept: the last ones.
const maxGuestLines = 3

func (g *guestLines) note(plugin, text string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lines == nil {
		g.lines = make(map[string][]string)
	}
	l := append(g.lines[plugin], text)
	if len(l) > maxGuestLines {
		l = l[len(l)-maxGuestLines:]
	}
	g.lines[plugin] = l
}

// of returns the lines plugin logged.
func (g *guestLines) of(plugin string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.lines[plugin])
}

// logger wraps base: every call goes on to base, and guest output at warn
// or error level is also kept.
func (g *guestLines) logger(base hclog.Logger) hclog.Logger {
	return &lineLogger{Logger: base, lines: g}
}

// lineLogger is the hclog.Logger of guestLines.logger. It tracks the
// implied arguments itself, since base may be a null logger that keeps
// none.
type lineLogger struct {
	hclog.Logger
	implied []any
	lines   *guestLines
}

// guestOutput is the message wasmhost logs a guest's line with; the line
// is its "text" argument and the plugin its "plugin" argument.
const guestOutput = "plugin output"

func (l *lineLogger) Log(level hclog.Level, msg string, args ...any) {
	if msg == guestOutput && level >= hclog.Warn {
		plugin, _ := arg(l.implied, "plugin").(string)
		text, _ := arg(args, "text").(string)
		if plugin != "" && text != "" {
			l.lines.note(plugin, text)
		}
	}
	l.Logger.Log(level, msg, args...)
}

func (l *lineLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *lineLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *lineLogger) With(args ...any) hclog.Logger {
	return &lineLogger{Logger: l.Logger.With(args...), implied: append(slices.Clip(l.implied), args...), lines: l.lines}
}

func (l *lineLogger) Named(name string) hclog.Logger {
	return &lineLogger{Logger: l.Logger.Named(name), implied: l.implied, lines: l.lines}
}

func (l *lineLogger) ResetNamed(name string) hclog.Logger {
	return &lineLogger{Logger: l.Logger.ResetNamed(name), implied: l.implied, lines: l.lines}
}

// arg returns the value after key in hclog's key, value list; nil when
// key is not there.
func arg(args []any, key string) any {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == key {
			return args[i+1]
		}
	}
	return nil
}
