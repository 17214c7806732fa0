package scan

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Status is the part of /proc/PID/status (man 5 proc, fs/proc/array.c
// proc_pid_status) the agent uses.
type Status struct {
	// Name is the comm, unescaped (the kernel escapes '\\' and newline).
	Name  string
	State byte
	Tgid  int
	PID   int
	PPID  int
	// UID and GID are the real, effective, saved and filesystem ids.
	UID [4]int
	GID [4]int
	// Threads is the number of threads; 0 when the line is absent.
	Threads int
}

// ErrBadStatus is wrapped by ParseStatus's errors.
var ErrBadStatus = errors.New("malformed status")

// ParseStatus parses the content of /proc/PID/status. Name, Pid and Uid
// lines are required; unknown lines are ignored.
func ParseStatus(b []byte) (Status, error) {
	var s Status
	var seen int
	const needName, needPID, needUID = 1, 2, 4
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		key, val, ok := bytes.Cut(line, []byte(":\t"))
		if !ok {
			continue
		}
		var err error
		switch string(key) {
		case "Name":
			s.Name, seen = unescapeName(val), seen|needName
		case "State":
			if len(val) > 0 {
				s.State = val[0]
			}
		case "Tgid":
			s.Tgid, err = statusInt(key, val)
		case "Pid":
			s.PID, err = statusInt(key, val)
			seen |= needPID
		case "PPid":
			s.PPID, err = statusInt(key, val)
		case "Uid":
			s.UID, err = statusIDs(key, val)
			seen |= needUID
		case "Gid":
			s.GID, err = statusIDs(key, val)
		case "Threads":
			s.Threads, err = statusInt(key, val)
		}
		if err != nil {
			return Status{}, err
		}
	}
	if seen != needName|needPID|needUID {
		return Status{}, fmt.Errorf("%w: missing Name, Pid or Uid line", ErrBadStatus)
	}
	return s, nil
}

func statusInt(key, val []byte) (int, error) {
	v, ok := atoi(val)
	if !ok {
		return 0, fmt.Errorf("%w: %s %q", ErrBadStatus, key, val)
	}
	return int(v), nil
}

func statusIDs(key, val []byte) ([4]int, error) {
	var ids [4]int
	n := 0
	for f := range bytes.SplitSeq(val, []byte{'\t'}) {
		if n == 4 {
			return ids, fmt.Errorf("%w: %s %q", ErrBadStatus, key, val)
		}
		v, ok := atou(f)
		if !ok || v > 1<<32-1 {
			return ids, fmt.Errorf("%w: %s %q", ErrBadStatus, key, val)
		}
		ids[n] = int(v)
		n++
	}
	if n != 4 {
		return ids, fmt.Errorf("%w: %s %q", ErrBadStatus, key, val)
	}
	return ids, nil
}

// unescapeName undoes proc_task_name's seq_escape_str(..., "\n\\").
func unescapeName(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			switch b[i+1] {
			case 'n':
				sb.WriteByte('\n')
				i++
				continue
			case '\\':
				sb.WriteByte('\\')
				i++
				continue
			}
		}
		sb.WriteByte(b[i])
	}
	return sb.String()
}
