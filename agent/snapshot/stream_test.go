package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"
)

// TestWriteJSONFields keeps WriteJSON in step with Snapshot: it writes these
// fields by name, so a new field must be added there.
func TestWriteJSONFields(t *testing.T) {
	var got []string
	st := reflect.TypeFor[Snapshot]()
	for i := range st.NumField() {
		if tag := st.Field(i).Tag.Get("json"); tag != "-" { // SocketRows is written as "sockets"
			got = append(got, tag)
		}
	}
	want := []string{"host", "processes", "sockets", "addresses,omitempty", "closed,omitempty", "closed_dropped,omitempty"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Snapshot's JSON fields are %q; WriteJSON writes %q", got, want)
	}
}

// TestWriteJSON checks that WriteJSON writes what encoding/json writes, compact
// and indented, for snapshots with nil, empty and full lists and text that
// encoding/json escapes.
func TestWriteJSON(t *testing.T) {
	full := synth(40, 300, 7)
	full.Processes[0].Cmdline = `sh -c "a <b> & c" é \u2028` + "\u2028\x01"
	full.Closed = []Connection{{Proto: "tcp", PID: 3, Name: "<x>", Role: "client"}, {Proto: "tcp6"}}
	full.ClosedDropped = 12
	full.Addresses = []NetNSAddrs{{NetNSID: 4026531840, Addrs: []Addr{{IP: "127.0.0.1", PrefixLen: 8, Interface: "lo"}, {IP: "::1", PrefixLen: 128, Interface: "lo"}}}, {NetNSID: 5, Addrs: []Addr{}}}
	cases := map[string]*Snapshot{
		"zero":  {},
		"empty": {Host: Host{HostID: "h", ScanTime: time.Unix(1, 5)}, Processes: []Process{}, Sockets: []Socket{}, Closed: []Connection{}},
		"one":   {Processes: []Process{{PID: 1, Name: "init", Tags: map[string]string{"a": "b"}}}, Sockets: []Socket{{Proto: "tcp", PIDs: []int{1}}}},
		"synth": synth(200, 2000, 1),
		"full":  full,
	}
	for name, s := range cases {
		for _, indent := range []string{"", "  ", "\t"} {
			var want []byte
			var err error
			if indent == "" {
				want, err = json.Marshal(s)
			} else {
				want, err = json.MarshalIndent(s, "", indent)
			}
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteJSON(&got, s, indent); err != nil {
				t.Fatalf("%s, indent %q: %v", name, indent, err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				i := 0
				for i < min(got.Len(), len(want)) && got.Bytes()[i] == want[i] {
					i++
				}
				t.Errorf("%s, indent %q: differs from encoding/json at byte %d:\n got %q\nwant %q", name, indent, i,
					got.Bytes()[max(0, i-40):min(got.Len(), i+40)], want[max(0, i-40):min(len(want), i+40)])
			}
		}
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

var errFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		w := f.n
		f.n = 0
		return w, errFull
	}
	f.n -= len(p)
	return len(p), nil
}

// TestWriteJSONError checks that a failing writer's error comes back, wherever
// it fails.
func TestWriteJSONError(t *testing.T) {
	s := synth(100, 1000, 2)
	for _, n := range []int{0, 10, 40 << 10, 100 << 10} {
		if err := WriteJSON(&failWriter{n: n}, s, "  "); !errors.Is(err, errFull) {
			t.Errorf("writer failing after %d bytes: WriteJSON = %v, want %v", n, err, errFull)
		}
	}
}

// TestEncodeSnapshotStreamed checks that a snapshot larger than streamAfter,
// compressed while it is written, declares the size of its JSON, is zstd, and
// assembles to the same state; and that two snapshots in a row reuse the
// compressor cleanly.
func TestEncodeSnapshotStreamed(t *testing.T) {
	w := newWire(t, 0)
	a := newAssembler(t, AssemblerConfig{})
	for seq, s := range []*Snapshot{synth(1000, 10000, 4), synth(1200, 9000, 5)} {
		s.Host.HostID = "h1"
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) <= streamAfter {
			t.Fatalf("snapshot of %d bytes does not pass streamAfter (%d)", len(raw), streamAfter)
		}
		msgs := w.snapshot(uint64(seq+1), s)
		env, err := ParseEnvelope(msgs[0].Header)
		if err != nil {
			t.Fatal(err)
		}
		if env.Size != int64(len(raw)) || env.Encoding != EncodingZstd {
			t.Errorf("snapshot %d: size %d encoding %q, want %d %q", seq+1, env.Size, env.Encoding, len(raw), EncodingZstd)
		}
		if c := feed(t, a, msgs); c == nil || c.Seq != uint64(seq+1) {
			t.Fatalf("snapshot %d: change %+v", seq+1, c)
		}
		got, _ := a.State("h1")
		assertSameState(t, got, s)
	}
}

// TestEncodeSnapshotStreamedChunks checks a streamed snapshot cut into
// several chunks as it is compressed: every message fits the max payload,
// every chunk but the last is as full as the headers allow, and the chunks
// assemble to the same state.
func TestEncodeSnapshotStreamedChunks(t *testing.T) {
	for _, maxPayload := range []int{1024, 4096, 64 << 10} {
		w := newWire(t, maxPayload)
		a := newAssembler(t, AssemblerConfig{MaxChunks: 1 << 16})
		s := synth(1000, 10000, 4)
		s.Host.HostID = "h1"
		msgs := w.snapshot(1, s)
		if env, err := ParseEnvelope(msgs[0].Header); err != nil || env.Encoding != EncodingZstd || env.Chunks != len(msgs) || len(msgs) < 2 {
			t.Fatalf("max payload %d: envelope %+v, %v, %d messages: want a streamed zstd snapshot in several chunks", maxPayload, env, err, len(msgs))
		}
		full := len(msgs[0].Data)
		for i, m := range msgs {
			if m.Size() > maxPayload {
				t.Errorf("max payload %d: chunk %d takes %d bytes", maxPayload, i, m.Size())
			}
			if i < len(msgs)-1 && len(m.Data) != full {
				t.Errorf("max payload %d: chunk %d carries %d bytes, chunk 0 %d", maxPayload, i, len(m.Data), full)
			}
		}
		// The room left for Size's digits is all that a chunk leaves unused.
		if slack := maxPayload - msgs[0].Size(); slack > chunkIndexRoom+len("9223372036854775807") {
			t.Errorf("max payload %d: chunk 0 leaves %d bytes unused", maxPayload, slack)
		}
		if c := feed(t, a, msgs); c == nil || c.Seq != 1 {
			t.Fatalf("max payload %d: change %+v", maxPayload, c)
		}
		got, _ := a.State("h1")
		assertSameState(t, got, s)
	}
}

// TestEncodeSnapshotNoRoom checks that a snapshot whose headers leave no
// room in the max payload fails with an error rather than sending chunks
// that do not fit, streamed or not.
func TestEncodeSnapshotNoRoom(t *testing.T) {
	for _, sockets := range []int{1, 10000} {
		enc, err := NewEncoder("proctag", 1024)
		if err != nil {
			t.Fatal(err)
		}
		s := synth(10, sockets, 2)
		_, err = enc.EncodeSnapshot(Envelope{HostID: strings.Repeat("h", 1000), Epoch: testEpoch, Seq: 1}, s)
		if err == nil || !strings.Contains(err.Error(), "headers leave no room") {
			t.Errorf("%d sockets, a 1000-byte host id in 1024 bytes: %v, want no room", sockets, err)
		}
	}
}

// collectStream returns the messages st.Each hands out, each with a copy
// of its data.
func collectStream(t *testing.T, st *SnapshotStream) []Message {
	t.Helper()
	var msgs []Message
	if err := st.Each(func(m *Message) error {
		c := *m
		c.Data = bytes.Clone(m.Data)
		msgs = append(msgs, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestSnapshotStream checks a SnapshotStream, streamed or small: Each hands
// out Messages() messages of Bytes() bytes in all, the same each time it
// runs, and they assemble to the snapshot.
func TestSnapshotStream(t *testing.T) {
	for _, tt := range []struct {
		name     string
		s        *Snapshot
		streamed bool
	}{
		{"streamed", synth(1000, 10000, 4), true},
		{"small", synth(10, 20, 4), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := NewEncoder("proctag", 16<<10)
			if err != nil {
				t.Fatal(err)
			}
			tt.s.Host.HostID = "h1"
			st, err := enc.StreamSnapshot(Envelope{HostID: "h1", Epoch: testEpoch, Seq: 1, MsgID: 1}, tt.s)
			if err != nil {
				t.Fatal(err)
			}
			msgs := collectStream(t, st)
			var size int64
			for _, m := range msgs {
				size += int64(m.Size())
			}
			if len(msgs) != st.Messages() || size != st.Bytes() {
				t.Errorf("Each handed out %d messages of %d bytes, Messages %d, Bytes %d", len(msgs), size, st.Messages(), st.Bytes())
			}
			env, err := ParseEnvelope(msgs[0].Header)
			if err != nil || (env.Size > streamAfter) != tt.streamed || (env.Chunks > 1) != tt.streamed {
				t.Fatalf("envelope %+v, %v: want streamed %v, in several chunks if so", env, err, tt.streamed)
			}
			if again := collectStream(t, st); !reflect.DeepEqual(again, msgs) {
				t.Error("a second Each handed out other messages")
			}
			c := feed(t, newAssembler(t, AssemblerConfig{}), msgs)
			if c == nil || c.Seq != 1 {
				t.Fatalf("change %+v", c)
			}
			assertSameState(t, c.State, tt.s)
		})
	}
}

// TestSnapshotStreamStops checks that Each stops at fn's first error and
// returns it.
func TestSnapshotStreamStops(t *testing.T) {
	enc, err := NewEncoder("proctag", 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	st, err := enc.StreamSnapshot(Envelope{HostID: "h1", Epoch: testEpoch, Seq: 1}, synth(1000, 10000, 4))
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages() < 3 {
		t.Fatalf("setup: %d messages, want at least 3", st.Messages())
	}
	stop := errors.New("connection lost")
	calls := 0
	err = st.Each(func(*Message) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("Each = %v after %d calls, want %v after 2", err, calls, stop)
	}
}

// TestSnapshotStreamHoldsOneChunk checks that Each does not build the
// compressed body: it allocates far less than the body's size (the
// encoder that EncodeSnapshot's first use made is reused).
func TestSnapshotStreamHoldsOneChunk(t *testing.T) {
	enc, err := NewEncoder("proctag", 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	s := synth(2000, 40000, 4)
	st, err := enc.StreamSnapshot(Envelope{HostID: "h1", Epoch: testEpoch, Seq: 1}, s)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := st.Each(func(*Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(st.Bytes())/8 {
		t.Errorf("Each of a %d-byte snapshot in %d messages allocated %d bytes", st.Bytes(), st.Messages(), alloc)
	}
}

// TestMinJSON checks that minJSON never exceeds the size of the JSON
// WriteJSON writes, with sockets as Sockets or as SocketRows.
func TestMinJSON(t *testing.T) {
	rows := synth(20, 0, 7)
	rows.SocketRows = randomRows(rand.New(rand.NewPCG(7, 8)), 300)
	for name, s := range map[string]*Snapshot{
		"empty": {}, "host only": synth(0, 0, 1), "small": synth(3, 5, 2), "larger": synth(200, 3000, 3),
		"socket rows": rows, "zero items": {Processes: make([]Process, 10), Sockets: make([]Socket, 10)},
	} {
		var b bytes.Buffer
		if err := WriteJSON(&b, s, ""); err != nil {
			t.Fatal(err)
		}
		if n := minJSON(s); n > b.Len() {
			t.Errorf("%s: minJSON %d, but the JSON is %d bytes", name, n, b.Len())
		}
	}
}

// TestEncodeSnapshotKeepsNoOutput checks that the encoder lets go of a
// streamed snapshot's compressed bytes once its messages are dropped: the
// compressor it keeps for the next snapshot must not hold on to them (a
// quiet host publishes a full snapshot rarely, and megabytes stayed live
// between).
func TestEncodeSnapshotKeepsNoOutput(t *testing.T) {
	w := newWire(t, 0)
	msgs := w.snapshot(1, synth(1000, 10000, 4))
	if env, err := ParseEnvelope(msgs[0].Header); err != nil || env.Encoding != EncodingZstd {
		t.Fatalf("envelope %+v, %v: want a streamed zstd snapshot", env, err)
	}
	out := weak.Make(&msgs[0].Data[0])
	msgs = nil
	runtime.GC()
	if out.Value() != nil {
		t.Error("the compressed snapshot is still reachable after its messages were dropped")
	}
	runtime.KeepAlive(w)
}

// appendSocketCases are sockets whose JSON appendSocket must write as
// encoding/json does: every field empty and full, nil and empty PIDs, text
// that encoding/json escapes.
var appendSocketCases = []Socket{
	{},
	{Proto: "tcp", LocalIP: "10.0.0.1", LocalPort: 80, RemoteIP: "0.0.0.0", State: "LISTEN", Role: "server", Inode: 10, PIDs: []int{100, 101}, NetNSID: 4026531840},
	{Proto: "udp6", LocalIP: "::1", LocalPort: 65535, RemoteIP: "2001:db8::9", RemotePort: 1, State: "CLOSE", Role: "client", Inode: 1<<64 - 1, PIDs: []int{}},
	{Proto: "tcp", PIDs: []int{-1, 0, 1 << 40}},
	{Proto: `<script>&"\`, LocalIP: "é\u2028\u2029\x00\x1f\x7f", RemoteIP: "\xff\xfe", State: "\t\n", Role: "a/b"},
}

// TestAppendSocket checks appendSocket against encoding/json, compact and
// indented at several depths.
func TestAppendSocket(t *testing.T) {
	for i, s := range appendSocketCases {
		checkAppend(t, fmt.Sprint("case ", i), &s, appendSocket)
	}
}

// checkAppend compares appendFn's output for v with encoding/json's,
// compact and indented at depths 0 and 2.
func checkAppend[T any](t *testing.T, name string, v *T, appendFn func([]byte, *T, string, int) []byte) {
	t.Helper()
	for _, indent := range []string{"", "  ", "\t"} {
		for _, depth := range []int{0, 2} {
			var want []byte
			var err error
			if indent == "" {
				want, err = json.Marshal(v)
			} else {
				want, err = json.MarshalIndent(v, strings.Repeat(indent, depth), indent)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := appendFn(nil, v, indent, depth); !bytes.Equal(got, want) {
				t.Errorf("%s, indent %q depth %d:\n got %s\nwant %s", name, indent, depth, got, want)
			}
		}
	}
}

// FuzzAppendSocket holds appendSocket to encoding/json's bytes for any
// field values.
func FuzzAppendSocket(f *testing.F) {
	for _, s := range appendSocketCases {
		f.Add(s.Proto, s.LocalIP, s.LocalPort, s.RemoteIP, s.RemotePort, s.State, s.Role, s.Inode, len(s.PIDs), s.PIDs == nil, s.NetNSID)
	}
	f.Fuzz(func(t *testing.T, proto, lip string, lport uint16, rip string, rport uint16, state, role string, inode uint64, npids int, nilPIDs bool, netns uint64) {
		s := Socket{Proto: proto, LocalIP: lip, LocalPort: lport, RemoteIP: rip, RemotePort: rport, State: state, Role: role, Inode: inode, NetNSID: netns}
		if !nilPIDs {
			s.PIDs = make([]int, npids&7)
			for i := range s.PIDs {
				s.PIDs[i] = int(inode>>i) - i
			}
		}
		checkAppend(t, "fuzz", &s, appendSocket)
	})
}

// appendProcessCases are processes whose JSON appendProcess must write as
// encoding/json does: every field empty and full, nil, empty and several
// tags, text that encoding/json escapes, negative numbers.
var appendProcessCases = []Process{
	{},
	{PID: 1, PPID: 0, StartTime: 1764000000000, Name: "systemd", ProcessName: "systemd", Cmdline: "/sbin/init", Exe: "/usr/lib/systemd/systemd", User: "root", MatchedRule: -1},
	{PID: 4242, PPID: 1, StartTime: -5, Name: "java", ProcessName: "payments", Cmdline: "java -jar app.jar", UID: 1000, NetNSID: 4026531840,
		ContainerID: "0123456789abcdef", Tags: map[string]string{"team": "pay", "app": "api", "": "empty key", "z": ""}, MatchedRule: 3, Exited: 1764000001000},
	{Tags: map[string]string{}},
	{Name: `<script>&"\`, ProcessName: "é\u2028\u2029\x00\x1f\x7f", Cmdline: "\xff\xfe", Tags: map[string]string{"\t<k>": "\n&v\xff"}, PID: -1, UID: -2},
}

// TestAppendProcess checks appendProcess against encoding/json, compact
// and indented at several depths.
func TestAppendProcess(t *testing.T) {
	for i, p := range appendProcessCases {
		checkAppend(t, fmt.Sprint("case ", i), &p, appendProcess)
	}
}

// FuzzAppendProcess holds appendProcess to encoding/json's bytes for any
// field values and up to three tags.
func FuzzAppendProcess(f *testing.F) {
	for _, p := range appendProcessCases {
		k1, v1, k2 := "", "", ""
		for k, v := range p.Tags {
			k1, v1, k2 = k, v, k+"2"
			break
		}
		f.Add(p.PID, p.PPID, p.StartTime, p.Name, p.ProcessName, p.Cmdline, p.Exe, p.User, p.UID, p.NetNSID, p.ContainerID, p.MatchedRule, p.Exited, len(p.Tags), k1, v1, k2)
	}
	f.Fuzz(func(t *testing.T, pid, ppid int, start int64, name, pname, cmdline, exe, user string, uid int, netns uint64, container string, rule int, exited int64, ntags int, k1, v1, k2 string) {
		p := Process{PID: pid, PPID: ppid, StartTime: start, Name: name, ProcessName: pname, Cmdline: cmdline, Exe: exe, User: user,
			UID: uid, NetNSID: netns, ContainerID: container, MatchedRule: rule, Exited: exited}
		switch ntags & 3 {
		case 1:
			p.Tags = map[string]string{}
		case 2:
			p.Tags = map[string]string{k1: v1}
		case 3:
			p.Tags = map[string]string{k1: v1, k2: cmdline, name: exe}
		}
		checkAppend(t, "fuzz", &p, appendProcess)
	})
}
