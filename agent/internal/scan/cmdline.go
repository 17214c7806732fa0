package scan

import (
	"strings"
)

// ParseCmdline splits the content of /proc/PID/cmdline on NUL and removes
// empty strings, as DeepFlow's procfs crate does. A process that rewrote
// its argv into one string with spaces ("nginx: worker process") yields
// one element. Kernel threads and zombies (empty file) yield nil.
func ParseCmdline(b []byte) []string { return SplitCmdline(string(b)) }

// SplitCmdline is ParseCmdline of cmdline text already held as a string:
// the arguments are substrings of all, so a caller that keeps all keeps
// the arguments for one slice header each.
func SplitCmdline(all string) []string {
	n := 0
	for f := range strings.SplitSeq(all, "\x00") {
		if len(f) > 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	argv := make([]string, 0, n)
	for f := range strings.SplitSeq(all, "\x00") {
		if len(f) > 0 {
			argv = append(argv, f)
		}
	}
	return argv
}

// ProcessName is DeepFlow's process_name of a process whose argv[0] is
// argv0: the file name of argv0 as Rust's Path::file_name returns it.
// Separators repeat freely, trailing "/" and "." elements are ignored; a
// last element ".." or no element at all ("/", ".", "") give "", which
// DeepFlow treats as an unnamed process. A name without '/' is returned
// whole, spaces included.
func ProcessName(argv0 string) string {
	s := argv0
	for {
		s = strings.TrimRight(s, "/")
		i := strings.LastIndexByte(s, '/')
		last := s[i+1:]
		switch last {
		case ".":
			s = s[:i+1]
			if i < 0 {
				return ""
			}
			continue
		case "..":
			return ""
		}
		return last
	}
}

// joinArgv is Cmdline: argv joined with single spaces.
func joinArgv(argv []string) string { return strings.Join(argv, " ") }
