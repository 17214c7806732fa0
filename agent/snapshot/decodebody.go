package snapshot

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// maxSkipDepth bounds the nesting skipValue follows; deeper input is left
// to encoding/json.
const maxSkipDepth = 512

// stateLists names the lists of a snapshot or delta body that
// decodeStateJSON reads itself, and where each goes.
type stateLists struct {
	sockets map[string]*[]Socket
	procs   map[string]*[]Process
}

// decodeStateJSON decodes a snapshot or delta body into v as
// json.Unmarshal does, but reads the socket and process lists named in
// lists itself, element by element (parser.socket, parser.process),
// instead of having encoding/json scan and check them first: they are most
// of a large body. The other members go to json.Unmarshal together. A
// process outside the fast form is decoded alone by encoding/json. Any
// other input it does not read that way (a socket outside the fast form, a
// key that differs from a list's name only in case, invalid JSON) is
// decoded by json.Unmarshal alone into a zeroed v, so the result and the
// error are always encoding/json's. zero resets v.
func decodeStateJSON(body []byte, v any, lists stateLists, zero func()) error {
	if decodeStateFast(body, v, lists) {
		return nil
	}
	zero()
	return json.Unmarshal(body, v)
}

// decodeStateFast is decodeStateJSON's fast path; false leaves v to be
// decoded again.
func decodeStateFast(body []byte, v any, lists stateLists) bool {
	p := parser{b: body}
	if !p.byte('{') {
		return false
	}
	rest := make([]byte, 0, 256)
	rest = append(rest, '{')
	seen := map[string]bool{} // the lists read
	if !p.peek('}') {
		for {
			p.space()
			keyStart := p.i
			key, ok := p.simpleString()
			if !ok || !p.byte(':') {
				return false
			}
			if _, isList := lists.sockets[string(key)]; isList || lists.procs[string(key)] != nil {
				if seen[string(key)] {
					return false // encoding/json decodes into the elements already there
				}
				seen[string(key)] = true
			}
			if list, ok := lists.sockets[string(key)]; ok {
				socks, ok := p.socketList()
				if !ok {
					return false
				}
				*list = socks
			} else if list, ok := lists.procs[string(key)]; ok {
				procs, ok := p.processList()
				if !ok {
					return false
				}
				*list = procs
			} else {
				if lists.caseVariant(key) {
					return false // encoding/json would take it for the list
				}
				p.space()
				start := p.i
				if !p.skipValue(0) {
					return false
				}
				if len(rest) > 1 {
					rest = append(rest, ',')
				}
				rest = append(rest, body[keyStart:start]...)
				rest = append(rest, body[start:p.i]...)
			}
			if p.peek(',') {
				p.i++
				continue
			}
			break
		}
	}
	if !p.byte('}') || !p.end() {
		return false
	}
	rest = append(rest, '}')
	return json.Unmarshal(rest, v) == nil
}

// caseVariant reports whether key differs from the name of a list only in
// case.
func (l stateLists) caseVariant(key []byte) bool {
	for name := range l.sockets {
		if bytes.EqualFold(key, []byte(name)) {
			return true
		}
	}
	for name := range l.procs {
		if bytes.EqualFold(key, []byte(name)) {
			return true
		}
	}
	return false
}

// socketStart is how the agent begins each socket object: counting it
// ahead sizes a list before it is read.
var socketStart = []byte(`{"proto":`)

// socketList reads an array of sockets of the fast form into a list sized
// by counting socketStart ahead (which may count the sockets of later
// lists too, or none from another writer): a state held for long gets
// little spare capacity, and reading it makes no garbage of the list's
// growth. A list with much spare capacity is copied to its length.
func (p *parser) socketList() ([]Socket, bool) {
	if !p.byte('[') {
		return nil, false
	}
	if p.peek(']') {
		p.i++
		return []Socket{}, true
	}
	socks := make([]Socket, 0, bytes.Count(p.b[p.i:], socketStart))
	for {
		socks = append(socks, Socket{})
		if !p.socket(&socks[len(socks)-1]) {
			return nil, false
		}
		if p.peek(',') {
			p.i++
			continue
		}
		if !p.byte(']') {
			return nil, false
		}
		if cap(socks) > len(socks)+len(socks)/8+16 {
			socks = slices.Clip(slices.Clone(socks))
		}
		return socks, true
	}
}

// skipValue moves past one JSON value, checking only what finding its end
// needs (json.Unmarshal checks the value later); depth is its nesting.
func (p *parser) skipValue(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	p.space()
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		for p.i++; p.i < len(p.b); p.i++ {
			switch p.b[p.i] {
			case '\\':
				p.i++
			case '"':
				p.i++
				return true
			}
		}
		return false
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		p.i++
		if p.peek(closing) {
			p.i++
			return true
		}
		for {
			if c == '{' {
				if _, ok := p.anyString(); !ok || !p.byte(':') {
					return false
				}
			}
			if !p.skipValue(depth + 1) {
				return false
			}
			if p.peek(',') {
				p.i++
				continue
			}
			return p.byte(closing)
		}
	default:
		start := p.i
		for p.i < len(p.b) && strings.IndexByte("-+.0123456789eEtruefalsn", p.b[p.i]) >= 0 {
			p.i++
		}
		return p.i > start
	}
}

// anyString moves past a string, escapes included.
func (p *parser) anyString() (int, bool) {
	p.space()
	start := p.i
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return start, false
	}
	return start, p.skipValue(0)
}
