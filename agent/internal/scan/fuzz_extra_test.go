package scan

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzParseNetNSLink checks the reader of /proc/PID/ns/net link targets
// (namespaces(7): "net:[INODE]"): any input gives 0 or the inode between
// the brackets, and every inode written as the kernel writes it reads back.
func FuzzParseNetNSLink(f *testing.F) {
	f.Add([]byte("net:[4026531840]"), uint64(4026531840))  // the initial network namespace
	f.Add([]byte("net:[]"), uint64(0))                     // no digits
	f.Add([]byte("mnt:[4026531841]"), uint64(1))           // another namespace type
	f.Add([]byte("net:[18446744073709551616]"), uint64(1)) // one past uint64
	f.Add([]byte("net:[12]x"), ^uint64(0))                 // trailing junk; the largest inode
	f.Fuzz(func(t *testing.T, l []byte, inode uint64) {
		if n := parseNetNSLink(l); n != 0 {
			digits, ok := bytes.CutPrefix(l, []byte("net:["))
			digits, ok2 := bytes.CutSuffix(digits, []byte("]"))
			if !ok || !ok2 || strconv.FormatUint(n, 10) != string(bytes.TrimLeft(digits, "0")) {
				t.Fatalf("parseNetNSLink(%q) = %d", l, n)
			}
		}
		if got := parseNetNSLink([]byte("net:[" + strconv.FormatUint(inode, 10) + "]")); got != inode {
			t.Fatalf("net:[%d] read as %d", inode, got)
		}
	})
}

// FuzzReadBootTime checks the btime reader of /proc/stat (proc_stat(5)) on
// any file content: an error, or the value of the first line that starts
// with "btime " (never the first line: cpu comes first).
func FuzzReadBootTime(f *testing.F) {
	f.Add([]byte("cpu  1 2 3\nbtime 1795645876\nprocesses 4\n")) // as the kernel writes it
	f.Add([]byte("cpu 0\nbtime 1795645876"))                     // no final newline
	f.Add([]byte("btime 5\n"))                                   // btime on the first line
	f.Add([]byte("cpu 0\nbtime -1\n"))                           // negative
	f.Add([]byte("cpu 0\nbtime 99999999999999999999\n"))         // overflow
	f.Add([]byte("cpu 0\nbtime 1\nbtime 2\n"))                   // twice: the first counts
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, stat []byte) {
		if err := os.WriteFile(filepath.Join(dir, "stat"), stat, 0o644); err != nil {
			t.Fatal(err)
		}
		boot, err := readBootTime(dir)
		i := bytes.Index(stat, []byte("\nbtime "))
		if err != nil {
			return
		}
		if i < 0 {
			t.Fatalf("boot time %v from a file without a btime line", boot)
		}
		v := stat[i+len("\nbtime "):]
		if end := bytes.IndexByte(v, '\n'); end >= 0 {
			v = v[:end]
		}
		if want, perr := strconv.ParseInt(string(v), 10, 64); perr != nil || boot.Unix() != want {
			t.Fatalf("btime %q read as %d (strconv: %d, %v)", v, boot.Unix(), want, perr)
		}
	})
}
