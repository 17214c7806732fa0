package snapshot

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// WriteJSON writes s to w exactly as json.Marshal (indent "") or
// json.MarshalIndent(s, "", indent) would, without a trailing newline, but one
// list element at a time: the whole document (22 MB for 100,000 sockets) is
// never in memory, only the largest element. It returns the first error of w.
func WriteJSON(w io.Writer, s *Snapshot, indent string) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	sw := streamWriter{w: bw, indent: indent}
	sw.raw("{")
	sw.key(1, "host")
	sw.value(1, &s.Host)
	sw.raw(",")
	sw.key(1, "processes")
	writeList(&sw, s.Processes)
	sw.raw(",")
	sw.key(1, "sockets")
	if s.SocketRows != nil {
		writeList(&sw, s.SocketRows)
	} else {
		writeList(&sw, s.Sockets)
	}
	if len(s.Addresses) > 0 {
		sw.raw(",")
		sw.key(1, "addresses")
		writeList(&sw, s.Addresses)
	}
	if len(s.Closed) > 0 {
		sw.raw(",")
		sw.key(1, "closed")
		writeList(&sw, s.Closed)
	}
	if s.ClosedDropped != 0 {
		sw.raw(",")
		sw.key(1, "closed_dropped")
		sw.raw(strconv.Itoa(s.ClosedDropped))
	}
	sw.newline(0)
	sw.raw("}")
	if sw.err != nil {
		return sw.err
	}
	return bw.Flush()
}

// streamWriter writes JSON pieces to w, keeping the first error; the elements
// are encoded into buf by enc, whose indent is set per depth.
type streamWriter struct {
	w      io.Writer
	indent string
	buf    bytes.Buffer
	enc    *json.Encoder
	depth  int // the depth enc's indent is set for, when enc is not nil
	err    error
	// scratch holds one element's JSON (appendSocket, appendProcess).
	scratch []byte
}

func (sw *streamWriter) raw(s string) {
	if sw.err == nil {
		_, sw.err = io.WriteString(sw.w, s)
	}
}

// newline starts a line at depth when indenting.
func (sw *streamWriter) newline(depth int) {
	if sw.indent == "" {
		return
	}
	sw.raw("\n")
	for range depth {
		sw.raw(sw.indent)
	}
}

// key writes an object key at depth: `"name":` or, indented, `\n  "name": `.
func (sw *streamWriter) key(depth int, name string) {
	sw.newline(depth)
	sw.raw(strconv.Quote(name))
	if sw.indent == "" {
		sw.raw(":")
	} else {
		sw.raw(": ")
	}
}

// value writes v as encoding/json would at depth.
func (sw *streamWriter) value(depth int, v any) {
	if sw.err != nil {
		return
	}
	if sw.enc == nil || sw.depth != depth {
		sw.enc = json.NewEncoder(&sw.buf)
		if sw.indent != "" {
			prefix := ""
			for range depth {
				prefix += sw.indent
			}
			sw.enc.SetIndent(prefix, sw.indent)
		}
		sw.depth = depth
	}
	sw.buf.Reset()
	if sw.err = sw.enc.Encode(v); sw.err != nil {
		return
	}
	// Encode ends the value with a newline that Marshal does not write.
	_, sw.err = sw.w.Write(bytes.TrimSuffix(sw.buf.Bytes(), []byte("\n")))
}

// write writes b, an element's JSON (appendSocket, appendProcess).
func (sw *streamWriter) write(b []byte) {
	if sw.err == nil {
		_, sw.err = sw.w.Write(b)
	}
}

// writeList writes a list at depth 1 as encoding/json would: null for nil,
// [] for empty, else one element per line when indenting.
func writeList[T any](sw *streamWriter, list []T) {
	switch {
	case list == nil:
		sw.raw("null")
		return
	case len(list) == 0:
		sw.raw("[]")
		return
	}
	sw.raw("[")
	for i := range list {
		if i > 0 {
			sw.raw(",")
		}
		sw.newline(2)
		switch x := any(&list[i]).(type) {
		case *Socket:
			sw.scratch = appendSocket(sw.scratch[:0], x, sw.indent, 2)
			sw.write(sw.scratch)
			continue
		case *SocketRow:
			sw.scratch = appendSocketRow(sw.scratch[:0], x, sw.indent, 2)
			sw.write(sw.scratch)
			continue
		case *Process:
			sw.scratch = appendProcess(sw.scratch[:0], x, sw.indent, 2)
			sw.write(sw.scratch)
			continue
		}
		sw.value(2, &list[i])
	}
	sw.newline(1)
	sw.raw("]")
}
