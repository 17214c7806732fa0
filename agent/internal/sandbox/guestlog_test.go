package sandbox

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
)

func newTestGuestLog(t *testing.T) (*guestLog, *syncBuffer, *fakeClock) {
	t.Helper()
	logger, buf := testLogger(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	return newGuestLog(logger, clock.now), buf, clock
}

func TestGuestLogRateLimit(t *testing.T) {
	g, buf, clock := newTestGuestLog(t)
	for i := range 100 {
		g.hostLog(abi.LevelInfo, fmt.Appendf(nil, "line %d", i))
	}
	if n := strings.Count(buf.String(), "plugin output"); n != logBurst {
		t.Fatalf("%d lines logged from a burst of 100, want %d", n, logBurst)
	}
	clock.add(time.Second)
	g.hostLog(abi.LevelWarn, []byte("after a second"))
	if !containsAll(buf.String(), "[WARN]", "after a second", fmt.Sprintf("dropped_before=%d", 100-logBurst)) {
		t.Errorf("next line lacks the dropped count:\n%s", buf)
	}
}

func TestGuestLogRepeats(t *testing.T) {
	g, buf, clock := newTestGuestLog(t)
	for range 50 {
		g.hostLog(abi.LevelInfo, []byte("same"))
	}
	g.hostLog(abi.LevelInfo, []byte("different"))
	clock.add(2 * repeatWindow)
	g.hostLog(abi.LevelInfo, []byte("different"))
	out := buf.String()
	if n := strings.Count(out, "text=same"); n != 1 {
		t.Errorf("repeated line logged %d times, want once", n)
	}
	if !strings.Contains(out, "previous_repeated=49") || strings.Count(out, "text=different") != 2 {
		t.Errorf("want the repeat count and the line again after the window:\n%s", out)
	}
}

func TestGuestLogLevelsAndText(t *testing.T) {
	tests := []struct {
		name  string
		level abi.LogLevel
		text  string
		want  []string
	}{
		{"error", abi.LevelError, "e", []string{"[ERROR]", "text=e"}},
		{"warn", abi.LevelWarn, "w", []string{"[WARN]", "text=w"}},
		{"debug", abi.LevelDebug, "d", []string{"[DEBUG]", "text=d"}},
		{"unknown level is info", 42, "i", []string{"[INFO]", "text=i"}},
		{"invalid utf-8 replaced", abi.LevelInfo, "a\xffb", []string{"text=\"a\uFFFDb\""}},
		{"cut at the limit", abi.LevelInfo, strings.Repeat("x", 2000), []string{"text=" + strings.Repeat("x", abi.MaxLogBytes) + "\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, buf, _ := newTestGuestLog(t)
			g.hostLog(tt.level, []byte(tt.text))
			if !containsAll(buf.String(), tt.want...) {
				t.Errorf("log = %q, want %q", buf, tt.want)
			}
		})
	}
}

func TestLineWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		lines  []string // texts logged, in order, before Flush
		tail   string   // logged by Flush
	}{
		{"one line", []string{"hello\n"}, []string{"hello"}, ""},
		{"split writes", []string{"he", "llo\nwor", "ld\n"}, []string{"hello", "world"}, ""},
		{"unfinished line flushed", []string{"a\nb"}, []string{"a"}, "b"},
		{"empty lines skipped", []string{"\n\nx\n"}, []string{"x"}, ""},
		{"long line cut", []string{strings.Repeat("y", 3000) + "\nz\n"}, []string{strings.Repeat("y", abi.MaxLogBytes), "z"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, buf, _ := newTestGuestLog(t)
			w := &lineWriter{log: g, source: "stdout", level: hclog.Info}
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := strings.Count(buf.String(), "plugin output"); got != len(tt.lines) {
				t.Errorf("%d lines logged, want %d:\n%s", got, len(tt.lines), buf)
			}
			for _, l := range tt.lines {
				if !strings.Contains(buf.String(), "text="+l+"\n") && !strings.Contains(buf.String(), "text="+l+" ") {
					t.Errorf("line %.20q… missing:\n%.300s", l, buf)
				}
			}
			w.Flush()
			if tt.tail != "" && !strings.Contains(buf.String(), "text="+tt.tail) {
				t.Errorf("Flush did not log %q", tt.tail)
			}
		})
	}
}

func FuzzLineWriter(f *testing.F) {
	f.Add([]byte("one line\n"), 3)                      // a line split in writes of 3 bytes
	f.Add([]byte("no newline"), 1)                      // a tail only Flush logs
	f.Add([]byte("\xff\xfe\n\xc3"), 2)                  // invalid and cut UTF-8
	f.Add([]byte(strings.Repeat("z", 5000)+"\n"), 1000) // a line over the limit
	f.Add([]byte("\n\n\n"), 1)                          // only newlines
	f.Fuzz(func(t *testing.T, data []byte, step int) {
		if step <= 0 || step > len(data)+1 {
			step = 1
		}
		logger, buf := testLogger(t)
		clock := &fakeClock{}
		w := &lineWriter{log: newGuestLog(logger, clock.now), source: "stderr", level: hclog.Info}
		for i := 0; i < len(data); i += step {
			clock.add(time.Minute) // keep the limiter out of the way
			if n, err := w.Write(data[i:min(i+step, len(data))]); err != nil || n != min(step, len(data)-i) {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		w.Flush()
		if !utf8.ValidString(buf.String()) {
			t.Errorf("log is not valid UTF-8: %q", buf)
		}
		if len(w.buf) != 0 {
			t.Errorf("%d bytes left after Flush", len(w.buf))
		}
	})
}

// TestLineWriterBudget checks the output budget: a write past it is cut
// and fails, a write with none left takes nothing, and the budget comes
// back at outputRate bytes a second, up to outputBurst.
func TestLineWriterBudget(t *testing.T) {
	logger, _ := testLogger(t)
	clock := &fakeClock{}
	w := &lineWriter{log: newGuestLog(logger, clock.now), source: "stdout", level: hclog.Info}
	huge := make([]byte, 48<<20) // one iovec over most of a guest's memory
	for _, step := range []struct {
		name    string
		advance time.Duration
		write   int
		want    int
	}{
		{"a write past the burst is cut", 0, len(huge), outputBurst},
		{"nothing left at once", 0, 1, 0},
		{"a second's refill", time.Second, len(huge), outputRate},
		{"an hour refills the burst only", time.Hour, len(huge), outputBurst},
		{"a small write within the budget", time.Hour, 100, 100},
	} {
		clock.add(step.advance)
		n, err := w.Write(huge[:step.write])
		if n != step.want || (n < step.write) != (err != nil) {
			t.Errorf("%s: Write of %d bytes = %d, %v; want %d", step.name, step.write, n, err, step.want)
		}
	}
}

// TestRandBudget checks random_get's source: within its budget it gives
// the same bytes to every instance, past it a read is cut and fails, and
// the budget comes back at randRate bytes a second, up to randBurst.
func TestRandBudget(t *testing.T) {
	clock := &fakeClock{}
	a, b := newRandBudget(clock.now), newRandBudget(clock.now)
	x, y := make([]byte, 64), make([]byte, 64)
	if _, err := a.Read(x); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(y); err != nil || !bytes.Equal(x, y) {
		t.Errorf("two instances' first bytes differ (%v): %x, %x", err, x, y)
	}
	huge := make([]byte, 48<<20)
	for _, step := range []struct {
		name    string
		advance time.Duration
		read    int
		want    int
	}{
		{"a read past the burst is cut", 0, len(huge), randBurst - 64},
		{"nothing left at once", 0, 1, 0},
		{"half a second's refill", time.Second / 2, len(huge), randRate / 2},
		{"an hour refills the burst only", time.Hour, len(huge), randBurst},
	} {
		clock.add(step.advance)
		n, err := a.Read(huge[:step.read])
		if n != step.want || (n < step.read) != (err != nil) {
			t.Errorf("%s: Read of %d bytes = %d, %v; want %d", step.name, step.read, n, err, step.want)
		}
	}
}
