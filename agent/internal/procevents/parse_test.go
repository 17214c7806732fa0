package procevents

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	goldenfile "github.com/proctag/proctag/agent/internal/golden"
)

// unhex decodes space-separated hex; the fixtures below are written one
// struct per line so that each offset of parse.go can be checked by eye.
func unhex(t testing.TB, lines ...string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(strings.Join(lines, " ")), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Headers of the fixtures, little-endian (amd64, arm64). nlmsghdr: len
// (16+20+40 = 76 = 0x4c), type NLMSG_DONE, flags 0, seq, portid 0 (the
// kernel). cn_msg: idx CN_IDX_PROC, val CN_VAL_PROC, seq, ack, len 40,
// flags 0. The seq of both is 7, the kernel's counter of cpu 1.
const (
	nlHeader = "4c000000 0300 0000 07000000 00000000"
	cnHeader = "01000000 01000000 07000000 00000000 2800 0000"
	// procHeader: cpu 1, timestamp_ns 1.5e9 (0x59682f00); what comes first.
	procTail = "01000000 002f685900000000"
	zero8    = "00000000 00000000"
	zero16   = zero8 + zero8
)

// fixtures are datagrams as the kernel sends them, built from the layouts
// in cn_proc.h (see parse.go); parse.golden holds what they decode to.
var fixtures = []struct {
	name  string
	lines []string
}{
	{"fork of a process", []string{nlHeader, cnHeader,
		"01000000", procTail, // what PROC_EVENT_FORK
		"e8030000 e8030000", // parent_pid 1000, parent_tgid 1000
		"92100000 92100000", // child_pid 4242, child_tgid 4242
		zero8}},
	{"fork of a thread", []string{nlHeader, cnHeader,
		"01000000", procTail,
		"92100000 92100000", // parent_pid 4242, parent_tgid 4242
		"93100000 92100000", // child_pid 4243, child_tgid 4242: a thread
		zero8}},
	{"exec", []string{nlHeader, cnHeader,
		"02000000", procTail, // what PROC_EVENT_EXEC
		"92100000 92100000", // process_pid, process_tgid 4242
		zero16}},
	{"uid", []string{nlHeader, cnHeader,
		"04000000", procTail, // what PROC_EVENT_UID
		"92100000 92100000", // 4242
		"e8030000 00000000", // ruid 1000, euid 0
		zero8}},
	{"gid", []string{nlHeader, cnHeader,
		"40000000", procTail, // what PROC_EVENT_GID
		"92100000 92100000",
		"64000000 65000000", // rgid 100, egid 101
		zero8}},
	{"sid", []string{nlHeader, cnHeader,
		"80000000", procTail, // what PROC_EVENT_SID
		"92100000 92100000", zero16}},
	{"ptrace attach", []string{nlHeader, cnHeader,
		"00010000", procTail, // what PROC_EVENT_PTRACE
		"92100000 92100000",
		"e8030000 e8030000", // tracer_pid 1000, tracer_tgid 1000
		zero8}},
	{"comm", []string{nlHeader, cnHeader,
		"00020000", procTail, // what PROC_EVENT_COMM
		"92100000 92100000",
		"70726f637461672d636f6d6d00000000"}}, // comm "proctag-comm" NUL-padded
	{"comm of 15 bytes", []string{nlHeader, cnHeader,
		"00020000", procTail,
		"92100000 92100000",
		"6162636465666768696a6b6c6d6e6f00"}}, // "abcdefghijklmno", the longest comm
	{"coredump", []string{nlHeader, cnHeader,
		"00000040", procTail, // what PROC_EVENT_COREDUMP
		"92100000 92100000",
		"e8030000 e8030000", // parent_pid, parent_tgid 1000
		zero8}},
	{"exit of a process", []string{nlHeader, cnHeader,
		"00000080", procTail, // what PROC_EVENT_EXIT
		"92100000 92100000",
		"00030000 11000000",   // exit_code 0x300 (exit(3)), exit_signal SIGCHLD (17)
		"e8030000 e8030000"}}, // parent_pid, parent_tgid 1000
	{"exit of a thread", []string{nlHeader, cnHeader,
		"00000080", procTail,
		"93100000 92100000", // pid 4243 of process 4242
		"00000000 ffffffff", // exit_code 0, exit_signal -1: threads signal nobody
		zero8}},             // no parent
	{"exit with the nonzero-exit filter bit", []string{nlHeader, cnHeader,
		"00000020", procTail, // what PROC_EVENT_NONZERO_EXIT: Linux never sends it, but it is an exit
		"92100000 92100000",
		"00010000 11000000", // exit(1), SIGCHLD
		"e8030000 e8030000"}},
	{"exit killed by a signal", []string{nlHeader, cnHeader,
		"00000080", procTail,
		"92100000 92100000",
		"09000000 11000000", // exit_code 9: SIGKILL
		"e8030000 e8030000"}},
	{"exit from an old kernel without parent fields", []string{
		"44000000 0300 0000 07000000 00000000",          // nlmsghdr len 68
		"01000000 01000000 07000000 00000000 2000 0000", // cn_msg len 32
		"00000080", procTail,
		"92100000 92100000", "00010000 11000000"}}, // exit(1), SIGCHLD
	{"acknowledgement", []string{nlHeader,
		"01000000 01000000 07000000 2b000000 2800 0000", // ack 43: request 42
		"00000000", procTail, // what PROC_EVENT_NONE
		"00000000", // err 0
		"00000000", zero16}},
	{"refused acknowledgement", []string{nlHeader,
		"01000000 01000000 07000000 2b000000 2800 0000",
		"00000000", procTail,
		"01000000", // err EPERM
		"00000000", zero16}},
	{"two messages in one datagram", []string{
		nlHeader, cnHeader, "02000000", procTail, "92100000 92100000", zero16,
		nlHeader, cnHeader, "00000080", procTail, "92100000 92100000", "00000000 11000000", "e8030000 e8030000"}},
	{"another connector", []string{nlHeader,
		"0a000000 01000000 07000000 00000000 2800 0000", // idx 10: not CN_IDX_PROC
		"02000000", procTail, "92100000 92100000", zero16}},
	{"unknown what", []string{nlHeader, cnHeader,
		"00040000", procTail, // 0x400: the next bit, not defined yet
		"92100000 92100000", zero16}},
	{"cn_msg longer than the message", []string{nlHeader,
		"01000000 01000000 07000000 00000000 3000 0000", // len 48 > 40
		"02000000", procTail, "92100000 92100000", zero16}},
	{"exec cut short", []string{
		"34000000 0300 0000 07000000 00000000",          // nlmsghdr len 52
		"01000000 01000000 07000000 00000000 1000 0000", // len 16: header only
		"02000000", procTail}},
	{"netlink length beyond the datagram", []string{
		"ff000000 0300 0000 07000000 00000000", cnHeader}},
	{"netlink noop", []string{"10000000 0100 0000 00000000 00000000"}}, // NLMSG_NOOP, no payload
}

// decodeAll runs the datagram parser as Source.handle does and describes
// each message, for the golden file and the fuzz target.
func decodeAll(b []byte) ([]message, []error) {
	var ms []message
	var errs []error
	for len(b) > 0 {
		typ, p, rest, err := nextMessage(b)
		if err != nil {
			errs = append(errs, err)
			break
		}
		b = rest
		if typ != nlmsgDone {
			errs = append(errs, fmt.Errorf("netlink type %d", typ))
			continue
		}
		m, err := parseMessage(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ms = append(ms, m)
	}
	return ms, errs
}

func TestParseFixtures(t *testing.T) {
	var out bytes.Buffer
	for _, f := range fixtures {
		fmt.Fprintf(&out, "%s:\n", f.name)
		ms, errs := decodeAll(unhex(t, f.lines...))
		for _, m := range ms {
			if m.Kind == 0 {
				fmt.Fprintf(&out, "\tack=%d err=%d cpu=%d seq=%d\n", m.ack, m.ackErr, m.CPU, m.Seq)
				continue
			}
			fmt.Fprintf(&out, "\t%s leader=%v\n", m.String(), m.Leader())
		}
		for _, err := range errs {
			fmt.Fprintf(&out, "\terror: %v\n", err)
		}
	}
	goldenfile.Check(t, "testdata/parse.golden", out.Bytes())
}

// TestParseThreads checks the rule that tells a process from a thread on
// fixtures: a fork whose child pid differs from its tgid made a thread, and
// so did an exit or comm whose pid differs from its tgid.
func TestParseThreads(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		leader  bool
	}{
		{"fork of a process", true},
		{"fork of a thread", false},
		{"exit of a process", true},
		{"exit of a thread", false},
		{"exec", true},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			ms, errs := decodeAll(fixtureBytes(t, tc.fixture))
			if len(errs) > 0 || len(ms) != 1 {
				t.Fatalf("got %v, errors %v", ms, errs)
			}
			if got := ms[0].Leader(); got != tc.leader {
				t.Errorf("Leader() = %v, want %v for %s", got, tc.leader, ms[0].String())
			}
		})
	}
}

// TestParseErrors checks which sentinel each bad input gives: the source
// counts errMalformed and skips errNotProc silently.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		want    error
	}{
		{"another connector", errNotProc},
		{"unknown what", errUnknownKind},
		{"cn_msg longer than the message", errMalformed},
		{"exec cut short", errMalformed},
		{"netlink length beyond the datagram", errMalformed},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			_, errs := decodeAll(fixtureBytes(t, tc.fixture))
			if len(errs) != 1 || !errors.Is(errs[0], tc.want) {
				t.Errorf("errors %v, want %v", errs, tc.want)
			}
		})
	}
}

func fixtureBytes(t testing.TB, name string) []byte {
	t.Helper()
	for _, f := range fixtures {
		if f.name == name {
			return unhex(t, f.lines...)
		}
	}
	t.Fatalf("no fixture %q", name)
	return nil
}

// encodeEvent is the inverse of parseMessage: the datagram the kernel
// would send for m, with cn_msg.len 40.
func encodeEvent(m message) []byte {
	b := make([]byte, nlmsgHeaderLen+cnMsgLen+procEventLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], nlmsgDone)
	ne.PutUint32(b[8:], m.Seq)
	p := b[nlmsgHeaderLen:]
	ne.PutUint32(p[0:], cnIdxProc)
	ne.PutUint32(p[4:], cnValProc)
	ne.PutUint32(p[8:], m.Seq)
	ne.PutUint32(p[12:], m.ack)
	ne.PutUint16(p[16:], procEventLen)
	ev := p[cnMsgLen:]
	what := map[Kind]uint32{0: whatNone, KindFork: whatFork, KindExec: whatExec, KindUID: whatUID, KindGID: whatGID,
		KindSID: whatSID, KindPtrace: whatPtrace, KindComm: whatComm, KindCoredump: whatCoredump, KindExit: whatExit}[m.Kind]
	ne.PutUint32(ev[0:], what)
	ne.PutUint32(ev[4:], m.CPU)
	ne.PutUint64(ev[8:], uint64(m.Time))
	d := ev[procEventHeaderLen:]
	put := func(i int, v uint32) { ne.PutUint32(d[4*i:], v) }
	switch m.Kind {
	case 0:
		put(0, m.ackErr)
		return b
	case KindFork:
		put(0, uint32(m.ParentPID))
		put(1, uint32(m.ParentTGID))
		put(2, uint32(m.PID))
		put(3, uint32(m.TGID))
		return b
	}
	put(0, uint32(m.PID))
	put(1, uint32(m.TGID))
	switch m.Kind {
	case KindUID, KindGID:
		put(2, m.RealID)
		put(3, m.EffectiveID)
	case KindPtrace:
		put(2, uint32(m.TracerPID))
		put(3, uint32(m.TracerTGID))
	case KindComm:
		copy(d[8:24], m.Comm[:])
	case KindCoredump:
		put(2, uint32(m.ParentPID))
		put(3, uint32(m.ParentTGID))
	case KindExit:
		put(2, m.ExitCode)
		put(3, m.ExitSignal)
		put(4, uint32(m.ParentPID))
		put(5, uint32(m.ParentTGID))
	}
	return b
}

// FuzzParse feeds arbitrary datagrams to the parser: it must not panic,
// must consume the datagram, and every message it decodes must encode back
// to bytes that decode to the same message.
func FuzzParse(f *testing.F) {
	for _, fx := range fixtures {
		f.Add(unhex(f, fx.lines...)) // each fixture above: every kind, the thread rule, every error
	}
	f.Add([]byte{})                               // an empty datagram
	f.Add(make([]byte, nlmsgHeaderLen))           // a header whose length 0 is below the minimum
	f.Add(encodeRequest(procCnMcastListen, 1, 1)) // our own listen request: 4 bytes of data, too short for a proc_event
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, _ := decodeAll(b)
		for _, m := range ms {
			again, errs := decodeAll(encodeEvent(m))
			if len(errs) > 0 || len(again) != 1 {
				t.Fatalf("re-encoded %s: %v %v", m.String(), again, errs)
			}
			if m.Kind == KindComm {
				// Bytes after the first NUL survive; compare them too.
				if again[0].Comm != m.Comm {
					t.Fatalf("comm %q became %q", m.Comm, again[0].Comm)
				}
			}
			if again[0] != m {
				t.Fatalf("decoded %+v, re-encoded and decoded %+v", m, again[0])
			}
		}
	})
}
