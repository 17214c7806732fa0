package sockdiag

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// readFixture returns the bytes of testdata/NAME.hex: hex digits with
// spaces, lines starting with # are comments.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	for line := range strings.Lines(string(text)) {
		if !strings.HasPrefix(line, "#") {
			digits.WriteString(strings.Join(strings.Fields(line), ""))
		}
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("%s.hex: %v", name, err)
	}
	return b
}

// frame frames body as a netlink message of type typ and sequence seq.
func frame(typ uint16, seq uint32, body []byte) []byte {
	n := nlHdrLen + len(body)
	b := make([]byte, (n+3)&^3)
	ne := binary.NativeEndian
	ne.PutUint32(b, uint32(n))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], unix.NLM_F_MULTI)
	ne.PutUint32(b[8:], seq)
	copy(b[nlHdrLen:], body)
	return b
}

// status is the int32 body of NLMSG_DONE or NLMSG_ERROR.
func status(errno int32) []byte { return binary.NativeEndian.AppendUint32(nil, uint32(errno)) }

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    Socket
	}{
		{"tcp4_established", Socket{
			Local:  netip.MustParseAddrPort("127.0.0.1:36348"),
			Remote: netip.MustParseAddrPort("127.0.0.1:8080"),
			Cookie: 0x1018, Inode: 2858622, UID: 1000,
			Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, State: StateEstablished,
		}},
		{"tcp6_established", Socket{
			Local:  netip.MustParseAddrPort("[::1]:38324"),
			Remote: netip.MustParseAddrPort("[::1]:8443"),
			Cookie: 0x1019, Inode: 2858623, UID: 1001,
			Family: unix.AF_INET6, Proto: unix.IPPROTO_TCP, State: StateEstablished,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			b := readFixture(t, tt.fixture)
			var got []Socket
			done, err := parseDump(b, 77, unix.IPPROTO_TCP, func(s Socket) { got = append(got, s) })
			if err != nil || done {
				t.Fatalf("parseDump: done %v, %v", done, err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseDump(t *testing.T) {
	v4 := readFixture(t, "tcp4_established")
	v6 := readFixture(t, "tcp6_established")
	body4 := v4[nlHdrLen:]
	mapped := slices.Clone(body4)
	mapped[0] = unix.AF_INET6
	copy(mapped[8:24], netip.MustParseAddr("::ffff:10.1.2.3").AsSlice())
	withProto := append(slices.Clone(body4[:diagMsgLen]), 5, 0, attrProto, 0, unix.IPPROTO_UDP, 0, 0, 0)
	badFamily := slices.Clone(body4)
	badFamily[0] = unix.AF_UNIX
	badAttr := append(slices.Clone(body4[:diagMsgLen]), 9, 0, 1, 0, 0)
	tests := []struct {
		name  string
		data  []byte
		seq   uint32
		n     int    // sockets delivered
		local string // of the last one, if n > 0
		proto uint8  // of the last one
		done  bool
		err   error // errors.Is target; errMsg for malformed input
	}{
		{"two sockets then done", slices.Concat(v4, v6, frame(unix.NLMSG_DONE, 77, status(0))), 77, 2, "[::1]:38324", unix.IPPROTO_TCP, true, nil},
		{"two sockets, more to come", slices.Concat(v4, v6), 77, 2, "[::1]:38324", unix.IPPROTO_TCP, false, nil},
		{"an earlier dump's messages are skipped", slices.Concat(v4, frame(sockDiagMsg, 78, body4), frame(unix.NLMSG_DONE, 77, status(0))), 78, 1, "127.0.0.1:36348", unix.IPPROTO_TCP, false, nil},
		{"multicast takes every sequence", slices.Concat(v4, v6), 0, 2, "[::1]:38324", unix.IPPROTO_TCP, false, nil},
		{"IPv4-mapped is unmapped", frame(sockDiagMsg, 1, mapped), 1, 1, "10.1.2.3:36348", unix.IPPROTO_TCP, false, nil},
		{"INET_DIAG_PROTOCOL sets the protocol", frame(sockDiagMsg, 1, withProto), 1, 1, "127.0.0.1:36348", unix.IPPROTO_UDP, false, nil},
		{"an acknowledgement is skipped", slices.Concat(frame(unix.NLMSG_ERROR, 1, status(0)), v4), 77, 1, "127.0.0.1:36348", unix.IPPROTO_TCP, false, nil},
		{"NLMSG_ERROR", slices.Concat(v4, frame(unix.NLMSG_ERROR, 77, status(-int32(unix.EPERM)))), 77, 1, "127.0.0.1:36348", unix.IPPROTO_TCP, false, unix.EPERM},
		{"NLMSG_DONE with an error", frame(unix.NLMSG_DONE, 77, status(-int32(unix.EINTR))), 77, 0, "", 0, false, unix.EINTR},
		{"empty", nil, 77, 0, "", 0, false, nil},
		{"header cut short", v4[:10], 77, 0, "", 0, false, errMsg},
		{"message longer than the data", v4[:100], 77, 0, "", 0, false, errMsg},
		{"length below the header", slices.Concat([]byte{4, 0, 0, 0}, v4[4:]), 77, 0, "", 0, false, errMsg},
		{"inet_diag_msg cut short", frame(sockDiagMsg, 77, body4[:40]), 77, 0, "", 0, false, errMsg},
		{"unknown family", frame(sockDiagMsg, 77, badFamily), 77, 0, "", 0, false, errMsg},
		{"attribute longer than the message", frame(sockDiagMsg, 77, badAttr), 77, 0, "", 0, false, errMsg},
		{"status cut short", frame(unix.NLMSG_DONE, 77, []byte{0, 0}), 77, 0, "", 0, false, errMsg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Socket
			done, err := parseDump(tt.data, tt.seq, unix.IPPROTO_TCP, func(s Socket) { got = append(got, s) })
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if done != tt.done || len(got) != tt.n {
				t.Fatalf("done %v with %d sockets, want %v with %d", done, len(got), tt.done, tt.n)
			}
			if tt.n > 0 {
				last := got[len(got)-1]
				if last.Local.String() != tt.local || last.Proto != tt.proto {
					t.Errorf("last socket %s proto %d, want %s proto %d", last.Local, last.Proto, tt.local, tt.proto)
				}
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	var b [nlHdrLen + diagReqLen]byte
	encodeRequest(&b, 9, Query{Family: unix.AF_INET6, Proto: unix.IPPROTO_TCP, States: States(StateListen, StateEstablished)})
	ne := binary.NativeEndian
	want := ne.AppendUint32(nil, 72)
	want = ne.AppendUint16(want, unix.SOCK_DIAG_BY_FAMILY)
	want = ne.AppendUint16(want, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	want = ne.AppendUint32(want, 9)
	want = ne.AppendUint32(want, 0)
	want = append(want, unix.AF_INET6, unix.IPPROTO_TCP, 0, 0)
	want = ne.AppendUint32(want, 1<<1|1<<10)
	want = append(want, make([]byte, 48)...)
	if !bytes.Equal(b[:], want) {
		t.Errorf("request\n%x\nwant\n%x", b, want)
	}
}

func TestQueryString(t *testing.T) {
	for q, want := range map[Query]string{
		{Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, States: States(StateListen)}: "tcp4 states 0x400",
		{Family: unix.AF_INET6, Proto: unix.IPPROTO_UDP, States: 1}:                  "udp6 states 0x1",
		{Family: 1, Proto: 99}: "proto 99 family 1 states 0x0",
	} {
		if got := q.String(); got != want {
			t.Errorf("%#v: %q, want %q", q, got, want)
		}
	}
}
