package main

import (
	"bytes"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/proctag/proctag/agent/snapshot"
)

// The kinds the wire counter sorts received bytes into: the three data
// kinds by their subject, every other message (JetStream flow control and
// consumer heartbeats, control replies, API answers) as kindOther, and
// what is not a message (INFO, PING, PONG, +OK, -ERR) as kindProto.
const (
	kindSnapshot = iota
	kindDelta
	kindHeartbeat
	kindOther
	kindProto
	numKinds
)

// kindNames name the kinds in the child's stats answer.
var kindNames = [numKinds]string{"snapshot", "delta", "hb", "other", "proto"}

// wireCounter is a nats.CustomDialer that counts every byte the server
// sends on the connections it dials, by kind: each MSG or HMSG is counted
// whole (its protocol line, header block, body and CRLF), as the socket
// carried it. Its counters are safe to read while the connection runs.
type wireCounter struct {
	prefix string
	dialer net.Dialer
	bytes  [numKinds]atomic.Uint64
	msgs   [numKinds]atomic.Uint64
}

// Dial dials address and wraps the connection in a counter.
func (w *wireCounter) Dial(network, address string) (net.Conn, error) {
	w.dialer.Timeout = 5 * time.Second
	c, err := w.dialer.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, w: w}, nil
}

// totals returns the bytes and messages counted so far, by kind.
func (w *wireCounter) totals() (b, m [numKinds]uint64) {
	for k := range numKinds {
		b[k], m[k] = w.bytes[k].Load(), w.msgs[k].Load()
	}
	return b, m
}

// countingConn parses the server's side of the NATS protocol as the
// client reads it: a line, then for MSG and HMSG the payload the line
// announces and its CRLF.
type countingConn struct {
	net.Conn
	w *wireCounter

	line []byte // the protocol line read so far
	skip int    // payload bytes still to come, CRLF included
	kind int    // the kind the payload being skipped counts for
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.count(p[:n])
	return n, err
}

// maxLine bounds a protocol line kept for parsing (a MSG line is short;
// an INFO line can be long, and only its length matters).
const maxLine = 1024

func (c *countingConn) count(b []byte) {
	for len(b) > 0 {
		if c.skip > 0 {
			n := min(c.skip, len(b))
			c.skip -= n
			b = b[n:]
			c.w.bytes[c.kind].Add(uint64(n))
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			c.w.bytes[kindProto].Add(uint64(len(b))) // moved to the message's kind once the line ends
			c.keep(b)
			return
		}
		c.keep(b[:i+1])
		c.w.bytes[kindProto].Add(uint64(i + 1))
		c.endLine()
		b = b[i+1:]
	}
}

func (c *countingConn) keep(b []byte) {
	if room := maxLine - len(c.line); room > 0 {
		c.line = append(c.line, b[:min(len(b), room)]...)
	}
}

// endLine handles a whole protocol line: a MSG or HMSG line moves its
// bytes from kindProto to the message's kind and announces its payload.
func (c *countingConn) endLine() {
	line := c.line
	c.line = c.line[:0]
	f := bytes.Fields(line)
	if len(f) < 4 || (string(f[0]) != "MSG" && string(f[0]) != "HMSG") {
		return
	}
	total, err := strconv.Atoi(string(f[len(f)-1]))
	if err != nil || total < 0 {
		return
	}
	kind := kindOther
	if _, k, ok := snapshot.ParseSubject(c.w.prefix, string(f[1])); ok {
		switch k {
		case snapshot.KindSnapshot:
			kind = kindSnapshot
		case snapshot.KindDelta:
			kind = kindDelta
		case snapshot.KindHeartbeat:
			kind = kindHeartbeat
		}
	}
	c.w.bytes[kindProto].Add(^uint64(len(line) - 1)) // subtract: the line belongs to the message
	c.w.bytes[kind].Add(uint64(len(line)))
	c.w.msgs[kind].Add(1)
	c.kind, c.skip = kind, total+2
}
