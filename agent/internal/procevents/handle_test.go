package procevents

import (
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// handled runs datagrams through Source.handle as the reader does and
// returns what it sends to the batcher.
func handled(t *testing.T, cfg Config, dgs ...[]byte) (*Source, []Event) {
	t.Helper()
	s := &Source{cfg: cfg, in: make(chan Event, 100), stop: make(chan struct{})}
	for _, d := range dgs {
		if !s.handle(d) {
			t.Fatal("handle stopped")
		}
	}
	close(s.in)
	var got []Event
	for e := range s.in {
		got = append(got, e)
	}
	return s, got
}

func event(kind Kind, cpu, seq uint32, pid, tgid int32) []byte {
	return encodeEvent(message{Event: Event{Kind: kind, CPU: cpu, Seq: seq, PID: pid, TGID: tgid}})
}

func TestHandleGap(t *testing.T) {
	s, got := handled(t, Config{},
		event(KindExec, 0, 10, 1, 1),
		event(KindExec, 1, 500, 2, 2),
		event(KindExec, 0, 11, 3, 3),
		event(KindExec, 0, 14, 4, 4), // 12 and 13 of cpu 0 are missing
		event(KindExec, 1, 501, 5, 5),
	)
	var kinds []string
	for _, e := range got {
		kinds = append(kinds, e.String())
	}
	if len(got) != 6 || got[3].Kind != KindLost || got[3].Missed != 2 || got[4].PID != 4 {
		t.Fatalf("got %q, want a lost event with 2 missed before pid 4", kinds)
	}
	if st := s.Stats(); st.Missed != 2 || st.Lost != 1 || st.Events != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestHandleThreadsAndAcks(t *testing.T) {
	ack := encodeEvent(message{Event: Event{CPU: 0, Seq: 2}, ack: 43})
	thread := event(KindFork, 0, 3, 101, 100)
	process := event(KindFork, 0, 4, 102, 102)
	unknownCPUAck := encodeEvent(message{Event: Event{CPU: 0xffffffff, Seq: 9}, ack: 43})
	after := event(KindExit, 0, 20, 102, 102) // no gap: the odd ack reset the count
	for _, tc := range []struct {
		name    string
		threads bool
		want    []int32
	}{
		{"processes only", false, []int32{102, 102}},
		{"with threads", true, []int32{101, 102, 102}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, got := handled(t, Config{Threads: tc.threads}, event(KindExec, 0, 1, 100, 100), ack, thread, process, unknownCPUAck, after)
			got = got[1:]
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %v, want pids %v", len(got), got, tc.want)
			}
			for i, e := range got {
				if e.PID != tc.want[i] || e.Kind == KindLost {
					t.Errorf("event %d: %s, want pid %d", i, e.String(), tc.want[i])
				}
			}
			if wantThreads := uint64(1); !tc.threads && s.Stats().Threads != wantThreads {
				t.Errorf("threads counted %d, want 1", s.Stats().Threads)
			}
		})
	}
}

func TestHandleMalformed(t *testing.T) {
	s, got := handled(t, Config{},
		fixtureBytes(t, "exec cut short"),
		fixtureBytes(t, "netlink length beyond the datagram"),
		fixtureBytes(t, "another connector"),
		fixtureBytes(t, "unknown what"),
		fixtureBytes(t, "netlink noop"),
	)
	if len(got) != 0 || s.Stats().Malformed != 2 {
		t.Errorf("got %v, stats %+v; want nothing and 2 malformed", got, s.Stats())
	}
}

// TestSourceIgnoresForgedMessages sends a forged exec from another netlink
// socket straight to the source's: only the kernel's messages count.
func TestSourceIgnoresForgedMessages(t *testing.T) {
	s := openSource(t, Config{Window: 20 * time.Millisecond})
	var portid uint32
	if err := s.rc.Control(func(fd uintptr) {
		sa, err := unix.Getsockname(int(fd))
		if err != nil {
			t.Error(err)
			return
		}
		portid = sa.(*unix.SockaddrNetlink).Pid
	}); err != nil || portid == 0 {
		t.Fatalf("portid %d: %v", portid, err)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	const fake = 0x7ffffff0
	forged := event(KindExec, 0, 1, fake, fake)
	if err := unix.Sendto(fd, forged, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: portid}); err != nil {
		t.Fatalf("send the forgery: %v", err)
	}
	// A real exec queued after the forgery shows that it was read.
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := int32(cmd.Process.Pid)
	c := &collector{s: s}
	c.waitFor(t, 10*time.Second, "the real exec", has(KindExec, &pid))
	if e := find(c.events, KindExec, fake); e != nil {
		t.Errorf("forged event delivered: %s", e.String())
	}
	if s.Stats().Malformed == 0 {
		t.Errorf("forgery not counted; stats %+v", s.Stats())
	}
}
