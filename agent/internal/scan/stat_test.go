package scan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A stat line of a sleeping process on this machine (kernel 6.18), with
// the comm replaced per case.
const statTail = " S 15292 15208 4069 0 -1 4194304 17 0 0 0 0 0 0 0 20 0 3 0 120892 438272 33 18446744073709551615 94885829681152 94885829699081 140734365964368 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 94885829714960 94885829716576 94885836570624 140734365969853 140734365969868 140734365969868 140734365970411 0\n"

func TestParseStat(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    Stat
		wantErr bool
	}{
		{name: "plain comm", in: "15299 (sleep)" + statTail,
			want: Stat{PID: 15299, Comm: "sleep", State: 'S', PPID: 15292, Flags: 4194304, NumThreads: 3, StartTicks: 120892}},
		{name: "comm with spaces", in: "7 (my prog)" + statTail,
			want: Stat{PID: 7, Comm: "my prog", State: 'S', PPID: 15292, Flags: 4194304, NumThreads: 3, StartTicks: 120892}},
		{name: "comm with ) ( inside", in: "7 (a) (b c)" + statTail,
			want: Stat{PID: 7, Comm: "a) (b c", State: 'S', PPID: 15292, Flags: 4194304, NumThreads: 3, StartTicks: 120892}},
		{name: "comm ending in paren", in: "7 (x))" + statTail,
			want: Stat{PID: 7, Comm: "x)", State: 'S', PPID: 15292, Flags: 4194304, NumThreads: 3, StartTicks: 120892}},
		{name: "empty comm", in: "7 ()" + statTail,
			want: Stat{PID: 7, Comm: "", State: 'S', PPID: 15292, Flags: 4194304, NumThreads: 3, StartTicks: 120892}},
		{name: "exactly 22 fields, no newline", in: "9 (old) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555",
			want: Stat{PID: 9, Comm: "old", State: 'R', PPID: 1, NumThreads: 1, StartTicks: 555}},
		{name: "kernel thread", in: "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 20 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			want: Stat{PID: 2, Comm: "kthreadd", State: 'S', PPID: 0, Flags: 2129984, NumThreads: 1, StartTicks: 20}},
		{name: "truncated before starttime", in: "9 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0", wantErr: true},
		{name: "no parentheses", in: "9 x R 1 1 1", wantErr: true},
		{name: "no pid", in: "(x)" + statTail, wantErr: true},
		{name: "pid not a number", in: "9a (x)" + statTail, wantErr: true},
		{name: "ppid not a number", in: "9 (x) S p 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n", wantErr: true},
		{name: "starttime negative", in: "9 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5\n", wantErr: true},
		{name: "state missing", in: "9 (x)", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrBadStat) {
					t.Fatalf("ParseStat = %+v, %v; want ErrBadStat", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseStat = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestParseStatCaptured parses the lines fakeproc captured from this
// machine's /proc.
func TestParseStatCaptured(t *testing.T) {
	for name, comm := range map[string]string{"stat-user": "sleep", "stat-odd-comm": "a) (b c", "stat-kthread": "kthreadd"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "fakeproc", "testdata", "real", name))
			if err != nil {
				t.Fatal(err)
			}
			st, err := ParseStat(b)
			if err != nil || st.Comm != comm || st.StartTicks == 0 {
				t.Errorf("ParseStat = %+v, %v; want comm %q and a start time", st, err, comm)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("15299 (sleep)" + statTail))                            // a real line
	f.Add([]byte("7 (a) (b c)" + statTail))                              // comm with ") ("
	f.Add([]byte("9 (old) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555")) // 22 fields, no newline
	f.Add([]byte("9 (x) R 1"))                                           // truncated
	f.Add([]byte("9 ((((((("))                                           // no closing parenthesis
	f.Add([]byte("99999999999999999999999 (x)" + statTail))              // pid overflow
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStat(b)
		if err != nil {
			return
		}
		if st.PID < 0 || strings.Count(string(b), st.Comm) == 0 {
			t.Errorf("ParseStat(%q) = %+v", b, st)
		}
	})
}
