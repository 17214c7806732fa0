package scan

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"argv with trailing NUL", "python3\x00/srv/app.py\x00--port\x0080\x00", []string{"python3", "/srv/app.py", "--port", "80"}},
		{"no trailing NUL", "a\x00b", []string{"a", "b"}},
		{"empty strings removed", "a\x00\x00b\x00\x00", []string{"a", "b"}},
		{"leading empty string removed", "\x00a\x00", []string{"a"}},
		{"rewritten argv keeps spaces", "nginx: worker process", []string{"nginx: worker process"}},
		{"rewritten argv padded with NULs", "nginx: master process /usr/sbin/nginx\x00\x00\x00", []string{"nginx: master process /usr/sbin/nginx"}},
		{"kernel thread", "", nil},
		{"only NULs", "\x00\x00", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseCmdline([]byte(tc.in)); !slices.Equal(got, tc.want) || (tc.want == nil) != (got == nil) {
				t.Errorf("ParseCmdline(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := SplitCmdline(tc.in); !slices.Equal(got, tc.want) || (tc.want == nil) != (got == nil) {
				t.Errorf("SplitCmdline(%q) = %q, want %q", tc.in, got, tc.want)
			}
			// The arguments share the text: the slice is the one allocation.
			want := 1.0
			if tc.want == nil {
				want = 0
			}
			if n := testing.AllocsPerRun(10, func() { SplitCmdline(tc.in) }); n != want {
				t.Errorf("SplitCmdline(%q) allocates %v times, want %v", tc.in, n, want)
			}
		})
	}
}

// TestProcessName checks Rust's Path::file_name, which DeepFlow v6.5 applies
// to argv[0] (linux_process.rs: PathBuf::from(&cmd[0]).file_name()).
func TestProcessName(t *testing.T) {
	cases := []struct{ argv0, want string }{
		{"/usr/bin/python3", "python3"},
		{"python3", "python3"},
		{"/usr/bin/", "bin"},
		{"//usr//bin//", "bin"},
		{"./a/.", "a"},
		{"a/./b", "b"},
		{"./server", "server"},
		{"../x", "x"},
		{"..", ""},
		{"a/..", ""},
		{"/a/b/../", ""},
		{"/", ""},
		{"///", ""},
		{".", ""},
		{"./", ""},
		{"/.", ""},
		{"", ""},
		{"-bash", "-bash"},
		{".hidden", ".hidden"},
		{"...", "..."},
		{"nginx: worker process", "nginx: worker process"},
		{"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", "sshd -D [listener] 0 of 10-100 startups"},
		{"/opt/my (odd) ) prog", "my (odd) ) prog"},
	}
	for _, tc := range cases {
		t.Run(tc.argv0, func(t *testing.T) {
			if got := ProcessName(tc.argv0); got != tc.want {
				t.Errorf("ProcessName(%q) = %q, want %q", tc.argv0, got, tc.want)
			}
		})
	}
}

func FuzzParseCmdline(f *testing.F) {
	f.Add([]byte("python3\x00app.py\x00")) // ordinary argv
	f.Add([]byte("nginx: worker process")) // rewritten, no NULs
	f.Add([]byte("\x00\x00a\x00\x00"))     // empty strings around an argument
	f.Add([]byte{})                        // kernel thread
	f.Fuzz(func(t *testing.T, b []byte) {
		argv := ParseCmdline(b)
		var want [][]byte
		for f := range bytes.SplitSeq(b, []byte{0}) {
			if len(f) > 0 {
				want = append(want, f)
			}
		}
		if len(argv) != len(want) {
			t.Fatalf("ParseCmdline(%q) = %q", b, argv)
		}
		for i, a := range argv {
			if a == "" || a != string(want[i]) {
				t.Fatalf("ParseCmdline(%q)[%d] = %q", b, i, a)
			}
		}
	})
}

func FuzzProcessName(f *testing.F) {
	f.Add("/usr/bin/python3") // absolute path
	f.Add("/usr/bin/")        // trailing slash
	f.Add("./a/.")            // dot elements
	f.Add("..")               // parent dir: no name
	f.Add("nginx: worker")    // no slash, spaces
	f.Fuzz(func(t *testing.T, s string) {
		n := ProcessName(s)
		if strings.Contains(n, "/") || n == "." || n == ".." {
			t.Fatalf("ProcessName(%q) = %q", s, n)
		}
		if n != "" && !strings.Contains(s, n) {
			t.Fatalf("ProcessName(%q) = %q, not part of the input", s, n)
		}
		if !strings.Contains(s, "/") && s != "." && s != ".." && n != s {
			t.Fatalf("ProcessName(%q) = %q, want the whole name", s, n)
		}
	})
}
