package sockets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Kernel socket states (include/net/tcp_states.h). UDP uses TCP_ESTABLISHED
// for a connected socket and TCP_CLOSE for an unconnected one.
const (
	stateEstablished = 0x01
	stateClose       = 0x07
	stateListen      = 0x0A
)

// stateNames are the kernel's names of the states, indexed by the state
// number printed in the st column.
var stateNames = [...]string{
	0x01: "ESTABLISHED",
	0x02: "SYN_SENT",
	0x03: "SYN_RECV",
	0x04: "FIN_WAIT1",
	0x05: "FIN_WAIT2",
	0x06: "TIME_WAIT",
	0x07: "CLOSE",
	0x08: "CLOSE_WAIT",
	0x09: "LAST_ACK",
	0x0A: "LISTEN",
	0x0B: "CLOSING",
	0x0C: "NEW_SYN_RECV",
	0x0D: "BOUND_INACTIVE",
}

// stateName returns the kernel's name of state st, or "UNKNOWN".
func stateName(st uint8) string {
	if int(st) < len(stateNames) && stateNames[st] != "" {
		return stateNames[st]
	}
	return "UNKNOWN"
}

// entry is one row of a socket table in 24 bytes. It holds no pointer, so
// that the garbage collector does not scan the tables' rows. An IPv4
// address (bits 32) is in the entry; the IPv6 addresses of a row of a *6
// table are in its table's addrs (see rowBuf), at the row's index.
type entry struct {
	// local and remote are IPv4 addresses as numbers (127.0.0.1 is
	// 0x7f000001), which compare as netip.Addr.Compare compares them.
	local, remote uint32
	lport, rport  uint16
	// uid is the socket's owner as the kernel keeps it (sock_i_uid: the
	// creator's, or for an accepted connection its listener's).
	uid uint32
	// inode is the socket's inode: the kernel numbers sockets with
	// get_next_ino, an unsigned int, and sock_diag hands it out as a
	// __u32 (idiag_inode).
	inode uint32
	state uint8
	// lbits and rbits are the BitLen of the local and remote address:
	// 32, 128, or 0 for the zero Addr.
	lbits, rbits uint8
}

// addrs6 are the IPv6 addresses of a row, local then remote: an address
// whose bits are 128 is there, any other is zero.
type addrs6 [2][16]byte

// parsedRow is a row as parsed: its entry and, in a *6 table, its IPv6
// addresses.
type parsedRow struct {
	e entry
	a addrs6
}

// endpoint is an address and port of a socket table's row: a
// netip.AddrPort without its zone, which socket tables never have (and
// whose pointer would make every row one for the garbage collector to
// scan).
type endpoint struct {
	ip   [16]byte // an IPv4 address in the first 4
	port uint16
	bits uint8 // the address's BitLen: 32, 128, or 0 for the zero Addr
}

// endpointOf returns ap without its zone.
func endpointOf(ap netip.AddrPort) endpoint {
	a := ap.Addr()
	e := endpoint{port: ap.Port(), bits: uint8(a.BitLen())}
	if a.Is4() {
		copy(e.ip[:], a.AsSlice())
	} else if a.Is6() {
		e.ip = a.As16()
	}
	return e
}

// Addr returns the address.
func (e endpoint) Addr() netip.Addr {
	switch e.bits {
	case 32:
		return netip.AddrFrom4([4]byte(e.ip[:4]))
	case 128:
		return netip.AddrFrom16(e.ip)
	}
	return netip.Addr{}
}

// Port returns the port.
func (e endpoint) Port() uint16 { return e.port }

// String formats e as netip.AddrPort does.
func (e endpoint) String() string { return e.AddrPort().String() }

// AddrPort returns the address and port as a netip.AddrPort.
func (e endpoint) AddrPort() netip.AddrPort { return netip.AddrPortFrom(e.Addr(), e.port) }

// set stores endpoint ep as row r's local (remote false) or remote
// address and port.
func (r *parsedRow) set(remote bool, ep endpoint) {
	i, v4, port, bits := 0, &r.e.local, &r.e.lport, &r.e.lbits
	if remote {
		i, v4, port, bits = 1, &r.e.remote, &r.e.rport, &r.e.rbits
	}
	*port, *bits = ep.port, ep.bits
	*v4, r.a[i] = 0, [16]byte{}
	switch ep.bits {
	case 32:
		*v4 = binary.BigEndian.Uint32(ep.ip[:4])
	case 128:
		r.a[i] = ep.ip
	}
}

// endpoints returns the local and remote endpoint of e, whose IPv6
// addresses a holds (nil for a row of an IPv4 table).
func (e *entry) endpoints(a *addrs6) (local, remote endpoint) {
	local = endpoint{port: e.lport, bits: e.lbits}
	remote = endpoint{port: e.rport, bits: e.rbits}
	local.ip, remote.ip = ip16(e.lbits, e.local, a, 0), ip16(e.rbits, e.remote, a, 1)
	return local, remote
}

// ip16 returns address i (0 local, 1 remote) of a row as endpoint.ip
// holds it: an IPv4 address (bits 32) in the first 4 bytes.
func ip16(bits uint8, v4 uint32, a *addrs6, i int) (ip [16]byte) {
	switch {
	case bits == 32:
		binary.BigEndian.PutUint32(ip[:4], v4)
	case bits == 128 && a != nil:
		ip = a[i]
	}
	return ip
}

// errRow marks a row that is not in the kernel's format.
var errRow = errors.New("malformed socket table row")

// parseTable parses the contents of /proc/PID/net/tcp, tcp6, udp or udp6
// (v6 for the *6 tables) and appends its rows to dst. The first line is the
// header. Each row is
//
//	sl: local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
//
// where an address is the hex of the kernel's __be32 words printed as
// host-endian u32 (one word for IPv4, four for IPv6) and a port is 4 hex
// digits (Documentation/networking/proc_net_tcp.rst). Columns after the
// inode differ between TCP and UDP and are ignored. IPv4-mapped IPv6
// addresses are unmapped to IPv4. parseTable allocates only when dst grows.
func parseTable(dst []parsedRow, data []byte, v6 bool) ([]parsedRow, error) {
	_, err := parseLines(data, v6, 0, func(r *parsedRow) { dst = append(dst, *r) })
	return dst, err
}

// parseLines parses the lines of data, the part of a table that follows
// line number line (0 at the start of the file; line 1 is the header), and
// calls fn for every row. It returns the number of the
// last line parsed. A last line without a newline is parsed too: pass only
// whole lines unless data ends the file. fn must not keep the row it is
// given.
func parseLines(data []byte, v6 bool, line int, fn func(r *parsedRow)) (int, error) {
	var r parsedRow
	for len(data) > 0 {
		var row []byte
		row, data = cutLine(data)
		line++
		if line == 1 || len(row) == 0 {
			continue
		}
		if err := parseRow(&r, row, v6); err != nil {
			return line, fmt.Errorf("line %d: %w", line, err)
		}
		fn(&r)
	}
	return line, nil
}

// cutLine splits data at the first newline.
func cutLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i], data[i+1:]
	}
	return data, nil
}

// nextField returns the next space-separated field of row and the rest.
func nextField(row []byte) (field, rest []byte) {
	i := 0
	for i < len(row) && row[i] == ' ' {
		i++
	}
	j := i
	for j < len(row) && row[j] != ' ' {
		j++
	}
	return row[i:j], row[j:]
}

// parseRow parses one table row into r.
func parseRow(r *parsedRow, row []byte, v6 bool) error { return parseRowLayout(r, row, v6, true) }

// parseRowLayout is parseRow, trying parseFixed first when fixed is set;
// without, it reads the row field by field only (for the tests that hold
// the two ways to the same result).
func parseRowLayout(r *parsedRow, row []byte, v6, fixed bool) error {
	*r = parsedRow{}
	e := &r.e
	sl, row := nextField(row)
	if len(sl) < 2 || sl[len(sl)-1] != ':' {
		return fmt.Errorf("%w: slot %q", errRow, sl)
	}
	ok := false
	if fixed {
		row, ok = parseFixed(r, row, v6)
	}
	if !ok {
		var f []byte
		f, row = nextField(row)
		local, ok := parseEndpoint(f, v6)
		if !ok {
			return fmt.Errorf("%w: local address %q", errRow, f)
		}
		f, row = nextField(row)
		remote, ok := parseEndpoint(f, v6)
		if !ok {
			return fmt.Errorf("%w: remote address %q", errRow, f)
		}
		f, row = nextField(row)
		st, ok := parseHex(f, 2)
		if !ok {
			return fmt.Errorf("%w: state %q", errRow, f)
		}
		r.set(false, local)
		r.set(true, remote)
		e.state = uint8(st)
	}
	var f []byte
	// tx_queue:rx_queue, tr:tm->when, retrnsmt, then uid and timeout.
	for range 3 {
		if f, row = nextField(row); len(f) == 0 {
			return fmt.Errorf("%w: too few columns", errRow)
		}
	}
	f, row = nextField(row)
	uid, ok := parseDec(f)
	if !ok || uid > 1<<32-1 {
		return fmt.Errorf("%w: uid %q", errRow, f)
	}
	e.uid = uint32(uid)
	if f, row = nextField(row); len(f) == 0 {
		return fmt.Errorf("%w: too few columns", errRow)
	}
	f, _ = nextField(row)
	inode, ok := parseDec(f)
	if !ok || inode > 1<<32-1 {
		// The kernel's socket inodes are unsigned ints (see entry).
		return fmt.Errorf("%w: inode %q", errRow, f)
	}
	e.inode = uint32(inode)
	return nil
}

// parseFixed parses the local address, the remote address and the state
// of a row in the kernel's own layout, which rest (the row after its slot)
// starts with: one space before each, the addresses 13 characters wide
// (37 for v6), the state 2. It reports false for any other layout, which
// the field by field parse then reads (or refuses) instead; where it
// reports true, that parse gives the same, into r. It returns the row
// after the state.
func parseFixed(r *parsedRow, rest []byte, v6 bool) (after []byte, ok bool) {
	w := 13
	if v6 {
		w = 37
	}
	end := 3 + 2*w + 2 // " local remote st"
	if len(rest) < end || rest[0] != ' ' || rest[1+w] != ' ' || rest[2+2*w] != ' ' || (len(rest) > end && rest[end] != ' ') {
		return rest, false
	}
	local, okL := parseEndpoint(rest[1:1+w], v6)
	remote, okR := parseEndpoint(rest[2+w:2+2*w], v6)
	st, okS := parseHex(rest[3+2*w:end], 2)
	if !okL || !okR || !okS {
		return rest, false
	}
	r.set(false, local)
	r.set(true, remote)
	r.e.state = uint8(st)
	return rest[end:], true
}

// parseEndpoint parses "0100007F:1F90" (IPv4) or 32 hex digits, a colon and
// 4 hex digits (IPv6).
func parseEndpoint(f []byte, v6 bool) (endpoint, bool) {
	n := 8
	if v6 {
		n = 32
	}
	if len(f) != n+5 || f[n] != ':' {
		return endpoint{}, false
	}
	port, ok := parseHex(f[n+1:], 4)
	if !ok {
		return endpoint{}, false
	}
	e := endpoint{port: uint16(port), bits: 32}
	for w := 0; w < n/8; w++ {
		u, ok := parseHex(f[w*8:w*8+8], 8)
		if !ok {
			return endpoint{}, false
		}
		binary.NativeEndian.PutUint32(e.ip[w*4:], uint32(u))
	}
	if v6 {
		if [12]byte(e.ip[:12]) == v4InV6Prefix {
			// An IPv4-mapped address is given as IPv4 (netip.Addr.Unmap).
			e.ip = [16]byte{e.ip[12], e.ip[13], e.ip[14], e.ip[15]}
		} else {
			e.bits = 128
		}
	}
	return e, true
}

// v4InV6Prefix starts an IPv4-mapped IPv6 address.
var v4InV6Prefix = [12]byte{10: 0xff, 11: 0xff}

// parseHex parses exactly n hex digits (either case).
func parseHex(f []byte, n int) (uint64, bool) {
	if len(f) != n {
		return 0, false
	}
	var v uint64
	for _, c := range f {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// parseDec parses a non-empty unsigned decimal that fits in 64 bits.
func parseDec(f []byte) (uint64, bool) {
	if len(f) == 0 || len(f) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
