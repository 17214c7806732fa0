package render

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/proctag/proctag/agent/internal/explain"
	"github.com/proctag/proctag/agent/snapshot"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in, keep, want string
	}{
		{"plain", "nginx: worker process", "", "nginx: worker process"},
		{"utf-8 kept", "café ☕ 服务", "", "café ☕ 服务"},
		{"clear screen", "x\x1b[2J\x1b[Hy", "", `x\x1b[2J\x1b[Hy`},
		{"window title (OSC)", "\x1b]0;pwned\x07", "", `\x1b]0;pwned\x07`},
		{"C1 CSI", "a\u009b31mb", "", `a\u009b31mb`},
		{"DEL and NUL", "a\x7fb\x00c", "", `a\x7fb\x00c`},
		{"bidi override", "evil\u202egnp.exe", "", `evil\u202egnp.exe`},
		{"bidi isolate", "\u2066x\u2069", "", `\u2066x\u2069`},
		{"newline escaped", "a\nb\tc\r", "", `a\x0ab\x09c\x0d`},
		{"newline kept", "a\nb\x1b", "\n", "a\nb\\x1b"},
		{"invalid utf-8", "a\xffb\xc3", "", `a\xffb\xc3`},
		{"replacement rune itself is fine", "a\uFFFDb", "", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Printable(tt.in, tt.keep); got != tt.want {
				t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// hostileText is what a process, a plugin or a client on the bus could put
// in the fields that the table and explain print.
const hostileText = "svc\x1b[2J\x1b]52;c;cGF5bG9hZA==\x07\u009b1m\u202eexe.\nfake line"

// assertInert fails when out holds a byte or rune a terminal would act on,
// other than the newlines of its own lines.
func assertInert(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("output is not UTF-8: %q", out)
	}
	for i, r := range out {
		if r != '\n' && !printable(r) {
			t.Fatalf("output holds %U at byte %d:\n%q", r, i, out)
		}
	}
	if strings.Contains(out, "\nfake line") {
		t.Fatalf("an embedded newline started a line of its own:\n%s", out)
	}
}

func TestTableEscapesHostileFields(t *testing.T) {
	s := &snapshot.Snapshot{
		Host: snapshot.Host{HostID: "h\x1b[31m", Hostname: hostileText, ScanTime: time.Unix(1764000000, 0)},
		Processes: []snapshot.Process{{PID: 7, PPID: 1, User: hostileText, Name: hostileText, MatchedRule: -1,
			Cmdline: hostileText, Tags: map[string]string{"k\x1b": hostileText}}},
		Sockets: []snapshot.Socket{{Proto: "tcp", LocalIP: "0.0.0.0", LocalPort: 80, State: "LISTEN", Role: "server", PIDs: []int{7}}},
	}
	var out bytes.Buffer
	if err := Table(&out, s, 400); err != nil {
		t.Fatal(err)
	}
	assertInert(t, out.String())
	if !strings.Contains(out.String(), `svc\x1b[2J`) {
		t.Errorf("the escaped name is not shown:\n%s", out.String())
	}
}

func TestExplanationEscapesHostileFields(t *testing.T) {
	x := explain.Process{PID: 7, HasArgv: true, ProcessName: hostileText, Cmdline: hostileText,
		OwnTags: []explain.Tag{{Key: "k", Value: hostileText}},
		Verdict: explain.Verdict{Reported: true, Name: hostileText, Reason: "accepted by rule 0"},
		Plugins: explain.Plugins{State: explain.PluginsApplied, Name: hostileText,
			Effects: []explain.Effect{{Plugin: "p", Called: true, Error: hostileText, HasRename: true, Rename: hostileText}}}}
	var out bytes.Buffer
	if err := Explanation(&out, x); err != nil {
		t.Fatal(err)
	}
	assertInert(t, out.String())
}

// FuzzPrintable: whatever the input, the output is UTF-8 with nothing a
// terminal acts on but the kept runes, and text without such runes is
// returned as it is.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "plain", hostileText, "a\xffb", "\u202e", "\x1b\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Printable(s, "\n")
		if !utf8.ValidString(out) {
			t.Fatalf("Printable(%q) = %q: not UTF-8", s, out)
		}
		for _, r := range out {
			if r != '\n' && !printable(r) {
				t.Fatalf("Printable(%q) = %q holds %U", s, out, r)
			}
		}
		if firstUnprintable(s, "\n") < 0 && out != s {
			t.Fatalf("Printable(%q) = %q changed clean text", s, out)
		}
	})
}
