package snapshot

import (
	"encoding/json"
	"hash/maphash"
	"sync/atomic"
)

// plainSocket is Socket without its UnmarshalJSON: encoding/json's own
// decoding, which Socket.UnmarshalJSON falls back to.
type plainSocket Socket

// UnmarshalJSON decodes a socket as encoding/json decodes the struct,
// without reflection for the form agents write (the keys of WIRE.md,
// strings without escapes, non-negative integers), and shares the strings
// that many sockets repeat: the proto, state and role names, and addresses
// through a small fixed cache. Any other input (another key, an escape, a
// null, a number out of range) is decoded by encoding/json itself, so the
// result and the errors are always encoding/json's. A subscriber holding a
// fleet's sockets keeps one copy of each repeated string instead of one per
// socket.
func (s *Socket) UnmarshalJSON(b []byte) error {
	if decodeSocketFast(b, s) {
		return nil
	}
	return json.Unmarshal(b, (*plainSocket)(s))
}

// decodeSocketFast decodes b into s when it is an object of the fast form
// and reports whether it was; on false s is as it was. Like encoding/json,
// it sets only the fields present, the last of a key given twice.
func decodeSocketFast(b []byte, s *Socket) bool {
	p := parser{b: b}
	return p.socket(s) && p.end()
}

// socket reads a socket object of the fast form into s and reports whether
// it was one; on false s is as it was.
func (p *parser) socket(s *Socket) bool {
	v := *s
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "proto":
			str, ok := p.simpleString()
			v.Proto = internName(str)
			return ok
		case "local_ip", "remote_ip":
			str, ok := p.simpleString()
			if !ok {
				return false
			}
			if ip := internAddr(str); key[0] == 'l' {
				v.LocalIP = ip
			} else {
				v.RemoteIP = ip
			}
		case "local_port", "remote_port":
			n, ok := p.uint(0xffff)
			if !ok {
				return false
			}
			if key[0] == 'l' {
				v.LocalPort = uint16(n)
			} else {
				v.RemotePort = uint16(n)
			}
		case "state", "role":
			str, ok := p.simpleString()
			if !ok {
				return false
			}
			if key[0] == 's' {
				v.State = internName(str)
			} else {
				v.Role = internName(str)
			}
		case "inode", "netns_id":
			n, ok := p.uint(1<<64 - 1)
			if !ok {
				return false
			}
			if key[0] == 'i' {
				v.Inode = n
			} else {
				v.NetNSID = n
			}
		case "pids":
			pids, ok := p.intList()
			v.PIDs = pids
			return ok
		default:
			return false
		}
		return true
	})
	if ok {
		*s = v
	}
	return ok
}

// object reads an object of the fast form: for each key it calls member
// with the parser at the key's value, which member reads, reporting
// whether it could. It reports whether the whole object was read.
func (p *parser) object(member func(key []byte) bool) bool {
	if !p.byte('{') {
		return false
	}
	if p.peek('}') {
		p.i++
		return true
	}
	for {
		key, ok := p.simpleString()
		if !ok || !p.byte(':') || !member(key) {
			return false
		}
		if p.peek(',') {
			p.i++
			continue
		}
		return p.byte('}')
	}
}

// parser reads the fast form's JSON tokens from b, skipping white space.
type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

// peek reports whether the next token starts with c.
func (p *parser) peek(c byte) bool {
	p.space()
	return p.i < len(p.b) && p.b[p.i] == c
}

// byte consumes c.
func (p *parser) byte(c byte) bool {
	if !p.peek(c) {
		return false
	}
	p.i++
	return true
}

// end reports whether nothing but white space is left.
func (p *parser) end() bool {
	p.space()
	return p.i == len(p.b)
}

// simpleString reads a string of printable ASCII without escapes and
// returns its bytes, which point into b.
func (p *parser) simpleString() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// uint reads a non-negative integer of at most max, without sign, fraction
// or exponent, and without leading zeros.
func (p *parser) uint(max uint64) (uint64, bool) {
	p.space()
	start := p.i
	var n uint64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		d := uint64(p.b[p.i] - '0')
		if n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 1 && p.b[start] == '0' {
		return 0, false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	return n, true
}

// intList reads a non-empty array of non-negative ints that fit in an int.
func (p *parser) intList() ([]int, bool) {
	if !p.byte('[') {
		return nil, false
	}
	var small [8]int
	list := small[:0]
	for {
		n, ok := p.uint(uint64(int(^uint(0) >> 1)))
		if !ok {
			return nil, false
		}
		list = append(list, int(n))
		if p.peek(',') {
			p.i++
			continue
		}
		if !p.byte(']') {
			return nil, false
		}
		out := make([]int, len(list))
		copy(out, list)
		return out, true
	}
}

// internName returns the proto, state or role name b as a shared string.
func internName(b []byte) string {
	switch string(b) {
	case "tcp":
		return "tcp"
	case "tcp6":
		return "tcp6"
	case "udp":
		return "udp"
	case "udp6":
		return "udp6"
	case "LISTEN":
		return "LISTEN"
	case "ESTABLISHED":
		return "ESTABLISHED"
	case "CLOSE":
		return "CLOSE"
	case RoleServer:
		return RoleServer
	case RoleClient:
		return RoleClient
	}
	return string(b)
}

// RoleServer and RoleClient are Socket.Role's values.
const (
	RoleServer = "server"
	RoleClient = "client"
)

// internCache shares the strings of recently decoded values: a fixed
// number of slots, each holding the last string whose hash chose it, so
// that it stays small whatever strings pass through it. It is safe for
// concurrent use.
type internCache struct {
	seed  maphash.Seed
	slots [4096]atomic.Pointer[string]
}

// intern returns b as a string, the cached one when its slot holds b.
func (c *internCache) intern(b []byte) string {
	slot := &c.slots[maphash.Bytes(c.seed, b)%uint64(len(c.slots))]
	if s := slot.Load(); s != nil && *s == string(b) {
		return *s
	}
	s := string(b)
	slot.Store(&s)
	return s
}

// addrCache shares the addresses sockets repeat.
var addrCache = internCache{seed: maphash.MakeSeed()}

// internAddr returns the address b as a string, shared through addrCache.
func internAddr(b []byte) string { return addrCache.intern(b) }
