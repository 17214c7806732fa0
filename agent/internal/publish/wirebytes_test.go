package publish

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/snapshot"
)

// rawFrame is one message as a NATS server sent it to a raw client: the
// HMSG (or MSG) line, the header block and the data, with the line's and
// the payload's CRLF.
type rawFrame struct {
	subject string
	header  string // the header block, NATS/1.0 line to blank line
	data    []byte
	bytes   int // everything the server wrote for the message
}

// rawSubscribe connects to addr with a plain TCP client that speaks the
// NATS protocol by hand (no client library), subscribes to subject and
// returns the frames the server sends, in order. The connection closes
// when the test ends.
func rawSubscribe(t *testing.T, addr, subject string) <-chan rawFrame {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("raw client: server greeting %q: %v", line, err)
	}
	hello := "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1}\r\n" +
		"SUB " + subject + " 1\r\nPING\r\n"
	if _, err := io.WriteString(conn, hello); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("raw client: waiting for PONG: %v", err)
		}
		if line == "PONG\r\n" {
			break
		}
		if strings.HasPrefix(line, "-ERR") {
			t.Fatalf("raw client: %s", line)
		}
	}
	frames := make(chan rawFrame, 1024)
	go func() {
		defer close(frames)
		for {
			f, err := readFrame(conn, r)
			if err != nil {
				return // closed at the end of the test
			}
			if f.subject != "" {
				frames <- f
			}
		}
	}()
	return frames
}

// readFrame reads one protocol message; it answers PINGs and returns a
// frame with no subject for anything that is not a message.
func readFrame(conn net.Conn, r *bufio.Reader) (rawFrame, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return rawFrame{}, err
	}
	fields := strings.Fields(line)
	switch {
	case len(fields) == 0:
		return rawFrame{}, nil
	case fields[0] == "PING":
		_, err := io.WriteString(conn, "PONG\r\n")
		return rawFrame{}, err
	case fields[0] != "HMSG" && fields[0] != "MSG":
		return rawFrame{}, nil
	}
	// HMSG <subject> <sid> [reply-to] <header bytes> <total bytes>
	// MSG <subject> <sid> [reply-to] <bytes>
	hdrLen := 0
	total, err := strconv.Atoi(fields[len(fields)-1])
	if err != nil {
		return rawFrame{}, fmt.Errorf("bad message line %q", line)
	}
	if fields[0] == "HMSG" {
		if hdrLen, err = strconv.Atoi(fields[len(fields)-2]); err != nil {
			return rawFrame{}, fmt.Errorf("bad message line %q", line)
		}
	}
	payload := make([]byte, total+2)
	if _, err := io.ReadFull(r, payload); err != nil {
		return rawFrame{}, err
	}
	return rawFrame{subject: fields[1], header: string(payload[:hdrLen]), data: payload[hdrLen:total],
		bytes: len(line) + len(payload)}, nil
}

// quietStats are the stats of a long-running quiet host as the runner
// fills them (every counter well into its digits), before the publisher
// adds its own.
func quietStats(tick int) snapshot.Stats {
	return snapshot.Stats{ScanMicros: 41873 + int64(tick%7)*13, TickMicros: 52210 + int64(tick%5)*17,
		Processes: 212, Sockets: 1893, ProcessesSeen: 240, Ticks: 8640 + uint64(tick), RSSBytes: 31457280 + int64(tick%3)*4096,
		QuietTicks: 8000 + uint64(tick)}
}

// TestQuietTickWireBytes: a quiet host's tick, the heartbeat, costs at
// most snapshot.MaxHeartbeatWireBytes (300) on the wire, as a plain TCP
// client of a real server receives it: the HMSG line with the subject, the
// header block, the body and the CRLFs. The stats are a long-running
// host's, counters well into their digits; the host ids are a host name
// (a 28-byte subject) and a machine id (32 hex digits, the
// longest usual one). A subscriber that sees every heartbeat has every
// field of the agent's stats, each at most a few ticks old.
func TestQuietTickWireBytes(t *testing.T) {
	for _, tc := range []struct {
		name, hostID string
	}{
		{"host name", "web-1-prod-eu1"},
		{"machine id", "4f3c2a9e1b7d4c0e8a6f5b3d2c1e0f9a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, natsembed.Config{})
			frames := rawSubscribe(t, srv.Addr().String(), snapshot.Subject(snapshot.DefaultSubjectPrefix, tc.hostID, snapshot.KindHeartbeat))
			p := startPublisher(t, Config{URL: srv.ClientURL(), HostID: tc.hostID, FullEvery: 1000})
			state := host(1, proc(10, "nginx"), proc(20, "cron"))
			state.Host.HostID, state.Host.Epoch = tc.hostID, p.Epoch()
			p.Submit(state, quietStats(0))
			waitCounter(t, p, "the first snapshot sent", func(st snapshot.Stats) bool { return st.PublishedMessages >= 1 })
			const ticks = 30
			most, total := 0, 0
			got := snapshot.Stats{}
			var want snapshot.Stats
			for i := 1; i <= ticks; i++ {
				next := *state
				next.Host.ScanTime = state.Host.ScanTime.Add(time.Duration(i)*10*time.Second + time.Duration(i)*123456789)
				p.Submit(&next, quietStats(i))
				var f rawFrame
				select {
				case f = <-frames:
				case <-time.After(waitLimit):
					t.Fatalf("heartbeat %d not received within %s", i, waitLimit)
				}
				if i == 1 || i == ticks {
					t.Logf("heartbeat %d: %d bytes on the wire (subject %d, header block %d, body %d)\n%s%s", i, f.bytes, len(f.subject), len(f.header), len(f.data), f.header, f.data)
				}
				most, total = max(most, f.bytes), total+f.bytes
				if err := json.Unmarshal(f.data, &got); err != nil {
					t.Fatalf("heartbeat %d body %q: %v", i, f.data, err)
				}
				want = quietStats(i)
			}
			t.Logf("quiet ticks on the wire: largest %d bytes, mean %d", most, total/ticks)
			if most > snapshot.MaxHeartbeatWireBytes {
				t.Errorf("a quiet tick took %d bytes on the wire, want at most %d", most, snapshot.MaxHeartbeatWireBytes)
			}
			// Fields a subscriber has merged from the bodies, against the
			// agent's last stats (the publisher's own counters moved on).
			lag := func(name string, got, want int64) {
				if want-got > 3 || got > want {
					t.Errorf("%s: subscriber has %d, agent %d (more than 3 ticks behind)", name, got, want)
				}
			}
			lag("ticks", int64(got.Ticks), int64(want.Ticks))
			lag("quiet_ticks", int64(got.QuietTicks), int64(want.QuietTicks))
			if got.ProcessesSeen != want.ProcessesSeen || got.ScanMicros == 0 || got.TickMicros == 0 || got.RSSBytes == 0 ||
				got.PublishedBytes == 0 || got.PublishedMessages == 0 || got.LastFullBytes == 0 {
				t.Errorf("a field never reached the subscriber: %+v", got)
			}
		})
	}
}
