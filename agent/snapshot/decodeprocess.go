package snapshot

import (
	"encoding/json"
	"hash/maphash"
	"math"
)

// plainProcess is Process for encoding/json's own decoding of one process
// the fast form does not cover.
type plainProcess Process

// processList reads an array of processes: each one of the fast form by
// parser.process, any other by encoding/json alone (a command line with an
// escape or beyond ASCII, another key, a null). It fails, leaving the body
// to encoding/json, only where encoding/json fails on a process.
func (p *parser) processList() ([]Process, bool) {
	if !p.byte('[') {
		return nil, false
	}
	procs := []Process{}
	if p.peek(']') {
		p.i++
		return procs, true
	}
	for {
		procs = append(procs, Process{})
		v := &procs[len(procs)-1]
		p.space()
		start := p.i
		if !p.process(v) {
			p.i = start
			if !p.skipValue(0) || json.Unmarshal(p.b[start:p.i], (*plainProcess)(v)) != nil {
				return nil, false
			}
		}
		if p.peek(',') {
			p.i++
			continue
		}
		return procs, p.byte(']')
	}
}

// process reads a process object of the fast form (the keys of WIRE.md,
// strings of printable ASCII without escapes, integers without fraction or
// exponent) into v and reports whether it was one; on false v is as it was.
// Like encoding/json it sets only the fields present, the last of a key
// given twice, and adds a second tags object to the first. Its strings are
// shared through internString: the names, users, executables and command
// lines that processes across hosts repeat are held once.
func (p *parser) process(v *Process) bool {
	w := *v
	ok := p.object(func(key []byte) bool {
		switch k := string(key); k {
		case "pid", "ppid", "uid", "matched_rule":
			n, ok := p.int(math.MinInt, math.MaxInt)
			if !ok {
				return false
			}
			switch k {
			case "pid":
				w.PID = int(n)
			case "ppid":
				w.PPID = int(n)
			case "uid":
				w.UID = int(n)
			default:
				w.MatchedRule = int(n)
			}
		case "start_time", "exited":
			n, ok := p.int(math.MinInt64, math.MaxInt64)
			if !ok {
				return false
			}
			if k == "exited" {
				w.Exited = n
			} else {
				w.StartTime = n
			}
		case "netns_id":
			n, ok := p.uint(math.MaxUint64)
			w.NetNSID = n
			return ok
		case "name", "process_name", "cmdline", "exe", "user", "container_id":
			b, ok := p.simpleString()
			if !ok {
				return false
			}
			str := internString(b)
			switch k {
			case "name":
				w.Name = str
			case "process_name":
				w.ProcessName = str
			case "cmdline":
				w.Cmdline = str
			case "exe":
				w.Exe = str
			case "user":
				w.User = str
			default:
				w.ContainerID = str
			}
		case "tags":
			return p.tags(&w.Tags)
		default:
			return false
		}
		return true
	})
	if ok {
		*v = w
	}
	return ok
}

// tags reads an object of strings into *m, made when nil, as encoding/json
// decodes into a map: entries add to those already there. On false *m is
// as it was.
func (p *parser) tags(m *map[string]string) bool {
	var keys, vals [][]byte
	ok := p.object(func(k []byte) bool {
		v, ok := p.simpleString()
		keys, vals = append(keys, k), append(vals, v)
		return ok
	})
	if !ok {
		return false
	}
	if *m == nil {
		*m = make(map[string]string, len(keys))
	}
	for i := range keys {
		(*m)[internString(keys[i])] = internString(vals[i])
	}
	return true
}

// int reads an integer in [min, max]: an optional minus sign, then what
// uint reads.
func (p *parser) int(min, max int64) (int64, bool) {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
		if p.i == len(p.b) || p.b[p.i] < '0' || p.b[p.i] > '9' {
			return 0, false // JSON has no space after the sign
		}
		n, ok := p.uint(uint64(-(min + 1)) + 1)
		if !ok {
			return 0, false
		}
		return -int64(n-1) - 1, true
	}
	n, ok := p.uint(uint64(max))
	return int64(n), ok
}

// stringCache shares the names, users, executables, command lines and
// tags processes repeat (apart from addresses, which would crowd them out).
var stringCache = internCache{seed: maphash.MakeSeed()}

// internString returns b as a string, shared through stringCache.
func internString(b []byte) string { return stringCache.intern(b) }
