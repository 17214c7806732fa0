package fakeproc

import (
	"fmt"
	"net/netip"
)

// Proto names one socket table of /proc/PID/net.
type Proto int

// The four socket tables, named after their files.
const (
	TCP Proto = iota
	TCP6
	UDP
	UDP6
)

// String returns the file name of the table.
func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case TCP6:
		return "tcp6"
	case UDP:
		return "udp"
	case UDP6:
		return "udp6"
	}
	return fmt.Sprintf("Proto(%d)", int(p))
}

// Kernel TCP states (include/net/tcp_states.h), as the st column prints
// them. UDP sockets use TCPEstablished when connected and TCPClose when only
// bound.
const (
	TCPEstablished uint8 = 1
	TCPSynSent     uint8 = 2
	TCPSynRecv     uint8 = 3
	TCPFinWait1    uint8 = 4
	TCPFinWait2    uint8 = 5
	TCPTimeWait    uint8 = 6
	TCPClose       uint8 = 7
	TCPCloseWait   uint8 = 8
	TCPLastAck     uint8 = 9
	TCPListen      uint8 = 10
	TCPClosing     uint8 = 11
)

// SockEntry is one row of a socket table. Local and Remote must be IPv4 in
// tcp/udp and IPv6 (IPv4-mapped allowed) in tcp6/udp6. The columns after
// UID are written as given; zero values are valid output.
type SockEntry struct {
	Local  netip.AddrPort `yaml:"local"`
	Remote netip.AddrPort `yaml:"remote"`
	// State is the kernel TCP_* number (TCPListen, TCPEstablished, ...).
	// TCPTimeWait rows are printed in the kernel's time-wait layout.
	State uint8  `yaml:"state"`
	Inode uint64 `yaml:"inode"`
	UID   int    `yaml:"uid"`

	// Bucket is the sl column of udp tables (the hash bucket); tcp tables
	// number their rows from 0 instead.
	Bucket      int    `yaml:"bucket"`
	TxQueue     uint32 `yaml:"tx-queue"`
	RxQueue     uint32 `yaml:"rx-queue"`
	Timer       uint8  `yaml:"timer"`
	When        uint64 `yaml:"when"`
	Retransmits uint32 `yaml:"retransmits"`
	Timeout     int    `yaml:"timeout"`
	Ref         int    `yaml:"ref"`
	// Pointer is the %pK socket address (hashed or zero on a live system).
	Pointer uint64 `yaml:"pointer"`
	// RTO, ATO, QuickPingpong, Cwnd and Ssthresh are the tcp-only tail.
	RTO           uint64 `yaml:"rto"`
	ATO           uint64 `yaml:"ato"`
	QuickPingpong uint32 `yaml:"quick-pingpong"`
	Cwnd          uint32 `yaml:"cwnd"`
	Ssthresh      int    `yaml:"ssthresh"`
	// Drops is the udp-only tail column.
	Drops uint32 `yaml:"drops"`
}

// Headers of the tables, byte for byte: tcp4_seq_show pads its header (and
// rows) to TMPSZ-1 = 149 columns, udp4_seq_show to 127, the IPv6 tables do
// not pad.
const (
	tcpHeader  = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
	tcp6Header = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	udpHeader  = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"
	udp6Header = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	tcpWidth   = 149
	udpWidth   = 127
)

// NetTable returns the content of /proc/net/<proto> for entries, as
// net/ipv4/tcp_ipv4.c, net/ipv6/tcp_ipv6.c, net/ipv4/udp.c and
// net/ipv6/datagram.c print it on a little-endian machine.
func NetTable(proto Proto, entries []SockEntry) []byte {
	b := make([]byte, 0, 160*(len(entries)+1))
	switch proto {
	case TCP:
		b = pad(append(b, tcpHeader...), 0, tcpWidth)
	case TCP6:
		b = append(b, tcp6Header...)
	case UDP:
		b = pad(append(b, udpHeader...), 0, udpWidth)
	case UDP6:
		b = append(b, udp6Header...)
	}
	for i := range entries {
		b = AppendSockLine(b, proto, i, &entries[i])
	}
	return b
}

// AppendSockLine appends row i of table proto for e, newline included.
func AppendSockLine(b []byte, proto Proto, i int, e *SockEntry) []byte {
	start := len(b)
	v6 := proto == TCP6 || proto == UDP6
	switch proto {
	case TCP, TCP6:
		b = fmt.Appendf(b, "%4d: ", i)
	default:
		b = fmt.Appendf(b, "%5d: ", e.Bucket)
	}
	b = appendAddr(b, e.Local, v6)
	b = append(b, ' ')
	b = appendAddr(b, e.Remote, v6)
	switch {
	case (proto == TCP || proto == TCP6) && e.State == TCPTimeWait:
		// get_timewait4_sock / get_timewait6_sock.
		b = fmt.Appendf(b, " %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x",
			e.State, 0, 0, 3, e.When, 0, 0, 0, 0, e.Ref, e.Pointer)
	case proto == TCP || proto == TCP6:
		// get_tcp4_sock / get_tcp6_sock.
		b = fmt.Appendf(b, " %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x %d %d %d %d %d",
			e.State, e.TxQueue, e.RxQueue, e.Timer, e.When, e.Retransmits, e.UID,
			e.Timeout, e.Inode, e.Ref, e.Pointer, e.RTO, e.ATO, e.QuickPingpong, e.Cwnd, e.Ssthresh)
	default:
		// udp4_format_sock / __ip6_dgram_sock_seq_show.
		b = fmt.Appendf(b, " %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x %d",
			e.State, e.TxQueue, e.RxQueue, 0, 0, 0, e.UID, 0, e.Inode, e.Ref, e.Pointer, e.Drops)
	}
	switch proto {
	case TCP:
		return pad(b, start, tcpWidth)
	case UDP:
		return pad(b, start, udpWidth)
	}
	return append(b, '\n')
}

// pad ends the line that starts at start as seq_pad does: spaces up to
// width columns, then a newline.
func pad(b []byte, start, width int) []byte {
	for len(b)-start < width {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// appendAddr prints an address as the kernel does with %08X on the
// in-memory 32-bit words: each group of four bytes reversed on a
// little-endian machine, then the port in host order.
func appendAddr(b []byte, ap netip.AddrPort, v6 bool) []byte {
	a := ap.Addr()
	var raw []byte
	switch {
	case !a.IsValid() && v6:
		raw = make([]byte, 16)
	case !a.IsValid():
		raw = make([]byte, 4)
	case v6:
		a16 := a.As16()
		raw = a16[:]
	default:
		a4 := a.Unmap().As4()
		raw = a4[:]
	}
	for w := 0; w < len(raw); w += 4 {
		b = fmt.Appendf(b, "%02X%02X%02X%02X", raw[w+3], raw[w+2], raw[w+1], raw[w])
	}
	return fmt.Appendf(b, ":%04X", ap.Port())
}
