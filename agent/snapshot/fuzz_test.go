package snapshot

import (
	"strconv"
	"testing"
)

// FuzzParseEnvelope checks that any header values give an envelope that
// passes its own checks, or an error; never a panic.
func FuzzParseEnvelope(f *testing.F) {
	// A valid single-chunk delta.
	f.Add("1", "h1", testEpoch, "2", "1", "delta", "2026-01-01T00:00:00Z", "1", "0", "1", "identity", "10")
	// A heartbeat with seq 0 (nothing published yet).
	f.Add("1", "h1", testEpoch, "0", "", "hb", "2026-01-01T00:00:00.5Z", "3", "0", "1", "zstd", "0")
	// Host id with a dot, which is no NATS token.
	f.Add("1", "h.1", "e1", "1", "", "snapshot", "2026-01-01T00:00:00Z", "1", "0", "1", "identity", "1")
	// Overflowing numbers.
	f.Add("1", "h1", "e1", "18446744073709551616", "", "snapshot", "x", "1", "-1", "99999999999", "zstd", "-5")
	// Delta whose base is not below its seq.
	f.Add("1", "h1", "e1", "3", "3", "delta", "2026-01-01T00:00:00Z", "1", "0", "1", "identity", "1")
	// Forged: a delta on base 1 claiming seq 1e9+1 (it must be base+1).
	f.Add("1", "h1", testEpoch, "1000000001", "1", "delta", "2026-01-01T00:00:00Z", "1", "0", "1", "identity", "1")
	// Forged: a garbage epoch on an otherwise valid snapshot.
	f.Add("1", "h1", "zzzz-not-an-epoch", "1", "", "snapshot", "2026-01-01T00:00:00Z", "1", "0", "1", "identity", "1")
	// Forged: an epoch of upper-case hex (epochs are lower case).
	f.Add("1", "h1", "0000018C0A1B2C3D-1F2E3D4C", "1", "", "snapshot", "2026-01-01T00:00:00Z", "1", "0", "1", "identity", "1")
	f.Fuzz(func(t *testing.T, version, host, epoch, seq, base, kind, scan, msgID, chunk, chunks, encoding, size string) {
		h := map[string][]string{
			HeaderVersion: {version}, HeaderHostID: {host}, HeaderEpoch: {epoch}, HeaderSeq: {seq},
			HeaderBaseSeq: {base}, HeaderKind: {kind}, HeaderScanTime: {scan}, HeaderIntervalMS: {"1000"},
			HeaderMsgID: {msgID}, HeaderChunk: {chunk}, HeaderChunks: {chunks}, HeaderEncoding: {encoding}, HeaderSize: {size},
		}
		env, err := ParseEnvelope(h)
		if err != nil {
			return
		}
		if err := env.check(); err != nil {
			t.Fatalf("accepted envelope fails its checks: %v", err)
		}
		again, err := ParseEnvelope(env.Header())
		if err != nil || again.Seq != env.Seq || again.Chunk != env.Chunk || again.HostID != env.HostID {
			t.Fatalf("round trip: %+v vs %+v (%v)", again, env, err)
		}
	})
}

// FuzzAssembler feeds a valid base state, then one fuzzed message (header
// fields and body), then checks that the assembler did not panic, that an
// error left the state untouched, and that any state it holds is valid.
func FuzzAssembler(f *testing.F) {
	w := newWire(f, 0)
	base := snap([]Process{proc(1, 1, "a"), proc(2, 1, "b")}, []Socket{sock(9, 80, 1)})
	next := snap([]Process{proc(2, 1, "b"), proc(3, 1, "c")}, []Socket{sock(9, 80, 1), sock(10, 81, 3)})
	next.Host.HostID = "h1"
	baseMsg := w.snapshot(1, base)[0]
	delta := w.delta(2, 1, Diff(base, next))[0]
	big := w.snapshot(3, synth(50, 200, 9))[0]
	// A valid delta on the base.
	f.Add("delta", uint64(2), uint64(1), 0, 1, EncodingIdentity, int64(len(delta.Data)), delta.Data)
	// The same delta claiming a wrong base (gap).
	f.Add("delta", uint64(3), uint64(2), 0, 1, EncodingIdentity, int64(len(delta.Data)), delta.Data)
	// A valid zstd snapshot replacing the state.
	f.Add("snapshot", uint64(3), uint64(0), 0, 1, EncodingZstd, mustSize(big), big.Data)
	// The zstd snapshot truncated.
	f.Add("snapshot", uint64(3), uint64(0), 0, 1, EncodingZstd, mustSize(big), big.Data[:len(big.Data)/2])
	// The first of two chunks only.
	f.Add("snapshot", uint64(3), uint64(0), 0, 2, EncodingZstd, mustSize(big), big.Data[:len(big.Data)/2])
	// A heartbeat with a JSON array body.
	f.Add("hb", uint64(1), uint64(0), 0, 1, EncodingIdentity, int64(2), []byte("[]"))
	// A delta removing a process twice.
	bad := []byte(`{"host":{"host_id":"h1"},"removed":[{"pid":1,"start_time":1},{"pid":1,"start_time":1}]}`)
	f.Add("delta", uint64(2), uint64(1), 0, 1, EncodingIdentity, int64(len(bad)), bad)
	// Forged: the valid delta's body on the right base, seq 1e9+1.
	f.Add("delta", uint64(1_000_000_001), uint64(1), 0, 1, EncodingIdentity, int64(len(delta.Data)), delta.Data)
	// Forged: the valid delta's body far ahead, on a far base.
	f.Add("delta", uint64(1_000_000_001), uint64(1_000_000_000), 0, 1, EncodingIdentity, int64(len(delta.Data)), delta.Data)
	// Forged: a snapshot far ahead.
	f.Add("snapshot", uint64(1_000_000_000), uint64(0), 0, 1, EncodingZstd, mustSize(big), big.Data)
	// Forged: the next seq with an empty delta (a change that did not happen).
	empty := []byte(`{"host":{"host_id":"h1"}}`)
	f.Add("delta", uint64(2), uint64(1), 0, 1, EncodingIdentity, int64(len(empty)), empty)
	// Forged: a heartbeat below the state's seq.
	f.Add("hb", uint64(0), uint64(0), 0, 1, EncodingIdentity, int64(2), []byte("{}"))
	// Forged: the state's own seq replayed with another body.
	f.Add("snapshot", uint64(1), uint64(0), 0, 1, EncodingZstd, mustSize(big), big.Data)
	f.Fuzz(func(t *testing.T, kind string, seq, baseSeq uint64, chunk, chunks int, encoding string, size int64, data []byte) {
		a, err := NewAssembler(AssemblerConfig{MaxBodyBytes: 1 << 20, MaxChunks: 8})
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewAssembler(AssemblerConfig{MaxBodyBytes: 1 << 20, MaxChunks: 8}) // fed by Decode, FeedDecoded
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Feed(baseMsg.Subject, baseMsg.Header, baseMsg.Data); err != nil {
			t.Fatal(err)
		}
		if _, err := b.FeedDecoded(b.Decode(baseMsg.Subject, baseMsg.Header, baseMsg.Data)); err != nil {
			t.Fatal(err)
		}
		before, _ := a.State("h1")
		env := Envelope{Version: WireVersion, HostID: "h1", Epoch: testEpoch, Seq: seq, BaseSeq: baseSeq,
			Kind: Kind(kind), MsgID: 99, Chunk: chunk, Chunks: chunks, Encoding: encoding, Size: size}
		subject := Subject("proctag", "h1", Kind(kind))
		c, err := a.Feed(subject, env.Header(), data)
		cb, errb := b.FeedDecoded(b.Decode(subject, env.Header(), data))
		sameDecodedFeed(t, "fed", a, b, c, cb, err, errb)
		after, ok := a.State("h1")
		if !ok {
			t.Fatal("state lost")
		}
		if err != nil && after != before {
			t.Fatalf("error %v but the state changed", err)
		}
		if verr := after.Validate(); verr != nil {
			t.Fatalf("assembler holds an invalid state: %v", verr)
		}
		info, _ := a.Info("h1")
		if info.Seq == 1 && after != before {
			t.Fatal("state changed without a seq change")
		}
		if info.Seq > 1+64 || info.Epoch != testEpoch {
			t.Fatalf("a single message moved the host to epoch %s seq %d", info.Epoch, info.Seq)
		}
	})
}

// FuzzAssemblerEpoch feeds a valid base state, then one fuzzed snapshot or
// heartbeat under a fuzzed epoch, and checks that the followed epoch never
// moves to an older or invalid one and that a state changes only with a
// valid newer epoch.
func FuzzAssemblerEpoch(f *testing.F) {
	w := newWire(f, 0)
	base := snap([]Process{proc(1, 1, "a")}, nil)
	baseMsg := w.snapshot(1, base)[0]
	other := w.snapshot(1, snap([]Process{proc(2, 1, "b")}, nil))[0]
	// A restart: a newer epoch's snapshot.
	f.Add("snapshot", "0000018c0a1b2c40-00000003", uint64(1))
	// Forged: an older epoch's snapshot.
	f.Add("snapshot", "0000018c0a1b2c3c-ffffffff", uint64(7))
	// Forged: a garbage epoch.
	f.Add("snapshot", "zzzz", uint64(1))
	// Forged: the newest possible epoch, far ahead.
	f.Add("snapshot", "ffffffffffffffff-ffffffff", uint64(1_000_000_000))
	// Forged: an older epoch's heartbeat.
	f.Add("hb", "0000018c0a1b2c3c-ffffffff", uint64(1))
	f.Fuzz(func(t *testing.T, kind, epoch string, seq uint64) {
		a, err := NewAssembler(AssemblerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Feed(baseMsg.Subject, baseMsg.Header, baseMsg.Data); err != nil {
			t.Fatal(err)
		}
		before, _ := a.State("h1")
		env, err := ParseEnvelope(other.Header)
		if err != nil {
			t.Fatal(err)
		}
		env.Kind, env.Epoch, env.Seq = Kind(kind), epoch, seq
		data := other.Data
		if env.Kind == KindHeartbeat {
			data = []byte("{}")
			env.Size = 2
		}
		_, _ = a.Feed(Subject("proctag", "h1", env.Kind), env.Header(), data)
		after, _ := a.State("h1")
		info, _ := a.Info("h1")
		if !ValidEpoch(info.Epoch) || CompareEpochs(info.Epoch, testEpoch) < 0 {
			t.Fatalf("followed epoch moved to %q", info.Epoch)
		}
		if after != before && (!ValidEpoch(epoch) || CompareEpochs(epoch, testEpoch) <= 0) {
			t.Fatalf("state replaced by a message of epoch %q", epoch)
		}
	})
}

func mustSize(m Message) int64 {
	n, err := strconv.ParseInt(m.Header[HeaderSize][0], 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

// FuzzParseSubject checks that a subject parses only into a valid host
// token and a known kind, and that parsing inverts Subject.
func FuzzParseSubject(f *testing.F) {
	// A snapshot subject.
	f.Add("proctag", "proctag.v1.web-1.snapshot")
	// The control subject, which is not a data subject.
	f.Add("proctag", "proctag.v1.web-1.control")
	// A multi-token prefix and a heartbeat.
	f.Add("acme.prod", "acme.prod.v1.h.hb")
	// Too many tokens after the host.
	f.Add("proctag", "proctag.v1.h.delta.x")
	// The wildcard host of a subscription.
	f.Add("proctag", "proctag.v1.*.delta")
	f.Fuzz(func(t *testing.T, prefix, subject string) {
		host, kind, ok := ParseSubject(prefix, subject)
		if !ok {
			return
		}
		if !ValidToken(host) {
			t.Fatalf("host %q is not a token", host)
		}
		if Subject(prefix, host, kind) != subject {
			t.Fatalf("Subject(%q, %q, %q) != %q", prefix, host, kind, subject)
		}
	})
}
