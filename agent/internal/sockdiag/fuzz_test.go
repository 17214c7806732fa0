package sockdiag

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzParseDump feeds arbitrary bytes to the parser of a recv: it must not
// panic, and every socket it delivers must be of a known family with
// addresses of that family (IPv4 ones unmapped).
func FuzzParseDump(f *testing.F) {
	v4 := readFixture(f, "tcp4_established")
	v6 := readFixture(f, "tcp6_established")
	// A real IPv4 message.
	f.Add(v4, uint32(77))
	// A real IPv6 message.
	f.Add(v6, uint32(77))
	// Both and the end of the dump.
	f.Add(slices.Concat(v4, v6, frame(unix.NLMSG_DONE, 77, status(0))), uint32(77))
	// A multicast recv (any sequence).
	f.Add(v6, uint32(0))
	// An error reply.
	f.Add(frame(unix.NLMSG_ERROR, 3, status(-int32(unix.EINVAL))), uint32(3))
	// A message cut inside its attributes.
	f.Add(v4[:nlHdrLen+diagMsgLen+6], uint32(77))
	// Nothing.
	f.Add([]byte{}, uint32(1))
	f.Fuzz(func(t *testing.T, data []byte, seq uint32) {
		_, _ = parseDump(data, seq, unix.IPPROTO_TCP, func(s Socket) {
			switch s.Family {
			case unix.AF_INET:
				if !s.Local.Addr().Is4() || !s.Remote.Addr().Is4() {
					t.Fatalf("AF_INET socket with addresses %s %s", s.Local, s.Remote)
				}
			case unix.AF_INET6:
				if s.Local.Addr().Is4In6() || s.Remote.Addr().Is4In6() {
					t.Fatalf("mapped address kept: %s %s", s.Local, s.Remote)
				}
			default:
				t.Fatalf("socket of family %d delivered", s.Family)
			}
		})
	})
}
