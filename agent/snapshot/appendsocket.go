package snapshot

import (
	"encoding/json"
	"strconv"
)

// appendSocket appends s as encoding/json writes it: compact when indent is
// "", else as json.MarshalIndent with prefix indent×depth would. Sockets
// are most of a snapshot (100,000 on a busy host), and encoding/json's
// reflection and its indenting pass cost more than reading them did;
// TestAppendSocket and FuzzAppendSocket hold the two to the same bytes.
func appendSocket(b []byte, s *Socket, indent string, depth int) []byte {
	b = append(b, '{')
	b = appendKey(b, "proto", indent, depth+1)
	b = appendJSONString(b, s.Proto)
	b = appendNextKey(b, "local_ip", indent, depth+1)
	b = appendJSONString(b, s.LocalIP)
	b = appendNextKey(b, "local_port", indent, depth+1)
	b = strconv.AppendUint(b, uint64(s.LocalPort), 10)
	b = appendNextKey(b, "remote_ip", indent, depth+1)
	b = appendJSONString(b, s.RemoteIP)
	b = appendNextKey(b, "remote_port", indent, depth+1)
	b = strconv.AppendUint(b, uint64(s.RemotePort), 10)
	b = appendNextKey(b, "state", indent, depth+1)
	b = appendJSONString(b, s.State)
	b = appendNextKey(b, "role", indent, depth+1)
	b = appendJSONString(b, s.Role)
	return appendSocketTail(b, s.Inode, s.PIDs, s.NetNSID, indent, depth)
}

// appendSocketTail appends a socket's members from inode on, and the
// object's end.
func appendSocketTail(b []byte, inode uint64, pids []int, netns uint64, indent string, depth int) []byte {
	b = appendNextKey(b, "inode", indent, depth+1)
	b = strconv.AppendUint(b, inode, 10)
	b = appendNextKey(b, "pids", indent, depth+1)
	switch {
	case pids == nil:
		b = append(b, "null"...)
	case len(pids) == 0:
		b = append(b, "[]"...)
	default:
		b = append(b, '[')
		for i, pid := range pids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendNewline(b, indent, depth+2)
			b = strconv.AppendInt(b, int64(pid), 10)
		}
		b = appendNewline(b, indent, depth+1)
		b = append(b, ']')
	}
	if netns != 0 {
		b = appendNextKey(b, "netns_id", indent, depth+1)
		b = strconv.AppendUint(b, netns, 10)
	}
	b = appendNewline(b, indent, depth)
	return append(b, '}')
}

// appendNewline starts a line at depth when indenting.
func appendNewline(b []byte, indent string, depth int) []byte {
	if indent == "" {
		return b
	}
	b = append(b, '\n')
	for range depth {
		b = append(b, indent...)
	}
	return b
}

// appendNextKey appends the comma that ends the previous member and the
// next member's key at depth.
func appendNextKey(b []byte, name, indent string, depth int) []byte {
	return appendKey(append(b, ','), name, indent, depth)
}

// appendKey appends an object key (a name that needs no escaping) at depth.
func appendKey(b []byte, name, indent string, depth int) []byte {
	b = appendNewline(b, indent, depth)
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if indent != "" {
		b = append(b, ' ')
	}
	return b
}

// appendJSONString appends s quoted as encoding/json does. Printable ASCII
// that encoding/json leaves alone (everything but `"`, `\`, and the `<`,
// `>` and `&` it escapes for HTML) is copied; any other string is left to
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil { // cannot happen for a string
				panic(err)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
