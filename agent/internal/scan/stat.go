package scan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Stat is the part of /proc/PID/stat (man 5 proc, fs/proc/array.c
// do_task_stat) the agent uses.
type Stat struct {
	PID  int
	Comm string
	// State is the one-letter state: R, S, D, Z, T, t, X, I, P.
	State byte
	PPID  int
	// Flags is field 9, the kernel PF_* flags; PF_KTHREAD is 0x00200000.
	Flags uint64
	// NumThreads is field 20.
	NumThreads int
	// StartTicks is field 22: start time after boot in clock ticks
	// (USER_HZ, 100 on Linux).
	StartTicks uint64
}

// ErrBadStat is wrapped by ParseStat's errors.
var ErrBadStat = errors.New("malformed stat")

// statFields is the allocation-free result of parseStat; comm aliases the
// input.
type statFields struct {
	pid        int
	comm       []byte
	state      byte
	ppid       int
	flags      uint64
	numThreads int
	startTicks uint64
}

// ParseStat parses the content of /proc/PID/stat. comm is the text between
// the first '(' and the last ')', so comms with spaces and parentheses
// parse; at least the first 22 fields must be present (older kernels print
// fewer than today's 52).
func ParseStat(b []byte) (Stat, error) {
	f, err := parseStat(b)
	if err != nil {
		return Stat{}, err
	}
	return Stat{PID: f.pid, Comm: string(f.comm), State: f.state, PPID: f.ppid,
		Flags: f.flags, NumThreads: f.numThreads, StartTicks: f.startTicks}, nil
}

func parseStat(b []byte) (statFields, error) {
	var f statFields
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open || b[open-1] != ' ' {
		return f, fmt.Errorf("%w: no (comm)", ErrBadStat)
	}
	pid, ok := atoi(b[:open-1])
	if !ok {
		return f, fmt.Errorf("%w: pid %q", ErrBadStat, b[:open-1])
	}
	f.pid, f.comm = int(pid), b[open+1:closing]
	rest := b[closing+1:]
	// rest is " S ppid pgrp ..."; field 3 (state) is index 0 here.
	if len(rest) < 3 || rest[0] != ' ' || rest[2] != ' ' {
		return f, fmt.Errorf("%w: state", ErrBadStat)
	}
	f.state = rest[1]
	rest = rest[3:]
	for field := 4; field <= 22; field++ {
		end := bytes.IndexByte(rest, ' ')
		var tok []byte
		switch {
		case end >= 0:
			tok, rest = rest[:end], rest[end+1:]
		case field == 22:
			tok, rest = bytes.TrimSuffix(rest, []byte("\n")), nil
		default:
			return f, fmt.Errorf("%w: %d fields, want at least 22", ErrBadStat, field-1)
		}
		switch field {
		case 4:
			v, ok := atoi(tok)
			if !ok {
				return f, fmt.Errorf("%w: ppid %q", ErrBadStat, tok)
			}
			f.ppid = int(v)
		case 9:
			v, ok := atou(tok)
			if !ok {
				return f, fmt.Errorf("%w: flags %q", ErrBadStat, tok)
			}
			f.flags = v
		case 20:
			v, ok := atoi(tok)
			if !ok {
				return f, fmt.Errorf("%w: num_threads %q", ErrBadStat, tok)
			}
			f.numThreads = int(v)
		case 22:
			v, ok := atou(tok)
			if !ok {
				return f, fmt.Errorf("%w: starttime %q", ErrBadStat, tok)
			}
			f.startTicks = v
		}
	}
	return f, nil
}

// atou parses a non-empty decimal uint64 without allocating.
func atou(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// atoi parses a non-empty decimal int64 with an optional '-' without
// allocating; values outside ±2^62 are rejected.
func atoi(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, ok := atou(b)
	if !ok || u > 1<<62 {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// appendPIDPath appends "PID/name\x00", the NUL-terminated path of a
// per-process file relative to the root directory.
func appendPIDPath(b []byte, pid int, name string) []byte {
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, '/')
	b = append(b, name...)
	return append(b, 0)
}
