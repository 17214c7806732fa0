package scan

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const statusHead = "Umask:\t0022\nState:\tS (sleeping)\nTgid:\t812\nNgid:\t0\nPid:\t812\nPPid:\t400\nTracerPid:\t0\n"

func TestParseStatus(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    Status
		wantErr bool
	}{
		{name: "user process",
			in:   "Name:\tbash\n" + statusHead + "Uid:\t1000\t1001\t1002\t1003\nGid:\t100\t100\t100\t100\nFDSize:\t256\nThreads:\t4\n",
			want: Status{Name: "bash", State: 'S', Tgid: 812, PID: 812, PPID: 400, UID: [4]int{1000, 1001, 1002, 1003}, GID: [4]int{100, 100, 100, 100}, Threads: 4}},
		{name: "escaped name",
			in:   "Name:\ta\\nb\\\\c\n" + statusHead + "Uid:\t0\t0\t0\t0\n",
			want: Status{Name: "a\nb\\c", State: 'S', Tgid: 812, PID: 812, PPID: 400}},
		{name: "tab in name is not escaped",
			in:   "Name:\ta\tb\n" + statusHead + "Uid:\t0\t0\t0\t0\n",
			want: Status{Name: "a\tb", State: 'S', Tgid: 812, PID: 812, PPID: 400}},
		{name: "no Uid line", in: "Name:\tx\n" + statusHead, wantErr: true},
		{name: "three uids", in: "Name:\tx\n" + statusHead + "Uid:\t0\t0\t0\n", wantErr: true},
		{name: "uid not a number", in: "Name:\tx\n" + statusHead + "Uid:\tx\t0\t0\t0\n", wantErr: true},
		{name: "pid not a number", in: "Name:\tx\nPid:\tq\nUid:\t0\t0\t0\t0\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStatus([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrBadStatus) {
					t.Fatalf("ParseStatus = %+v, %v; want ErrBadStatus", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseStatus = %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseStatusCaptured(t *testing.T) {
	for name, want := range map[string]string{"status-user": "sleep", "status-odd-comm": "a) (b c", "status-kthread": "kthreadd"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "fakeproc", "testdata", "real", name))
			if err != nil {
				t.Fatal(err)
			}
			st, err := ParseStatus(b)
			if err != nil || st.Name != want || st.PID == 0 || st.Threads != 1 {
				t.Errorf("ParseStatus = %+v, %v; want name %q", st, err, want)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Name:\tbash\n" + statusHead + "Uid:\t1000\t1000\t1000\t1000\n")) // ordinary
	f.Add([]byte("Name:\ta\\nb\nPid:\t1\nUid:\t0\t0\t0\t0"))                       // escaped name, no final newline
	f.Add([]byte("Uid:\t0\t0\t0\t0\t0\n"))                                         // five uids
	f.Add([]byte("Name:\t\\"))                                                     // dangling backslash
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStatus(b)
		if err == nil && countUIDLines(b) == 0 {
			t.Fatalf("ParseStatus = %+v without a Uid line", st)
		}
		if err != nil && !errors.Is(err, ErrBadStatus) {
			t.Fatalf("ParseStatus error %v does not wrap ErrBadStatus", err)
		}
	})
}

func countUIDLines(b []byte) int {
	n := 0
	for i := 0; i+5 <= len(b); i++ {
		if string(b[i:i+5]) == "Uid:\t" && (i == 0 || b[i-1] == '\n') {
			n++
		}
	}
	return n
}
