package snapshot

import (
	"errors"
	"maps"
	"testing"
	"time"
)

// shortHeartbeat is the header set an agent sends on a heartbeat.
func shortHeartbeat() map[string][]string {
	return map[string][]string{HeaderEpoch: {testEpoch}, HeaderSeq: {"7"}, HeaderMsgID: {"9"},
		HeaderScanTime: {"2026-11-25T22:47:04.12Z"}}
}

// TestParseMessageEnvelope: the headers an agent leaves out take their
// defaults from the subject and the data (WIRE.md, "Envelope"), the old
// full set still reads the same, and what a default cannot stand for is
// malformed.
func TestParseMessageEnvelope(t *testing.T) {
	scan := time.Date(2026, 11, 25, 22, 47, 4, 120000000, time.UTC)
	full := Envelope{Version: 1, HostID: "h1", Hostname: "web-1", Epoch: testEpoch, Seq: 7, Kind: KindHeartbeat,
		ScanTime: scan, IntervalMS: 10000, MsgID: 9, Chunks: 1, Encoding: EncodingIdentity, Size: 40}
	with := func(change func(h map[string][]string)) map[string][]string {
		h := shortHeartbeat()
		change(h)
		return h
	}
	for _, tc := range []struct {
		name    string
		kind    Kind
		header  map[string][]string
		dataLen int
		want    Envelope // zero: malformed
	}{
		{"short heartbeat", KindHeartbeat, shortHeartbeat(), 40,
			Envelope{Version: 1, HostID: "h1", Epoch: testEpoch, Seq: 7, Kind: KindHeartbeat, ScanTime: scan, MsgID: 9,
				Chunks: 1, Encoding: EncodingIdentity, Size: 40}},
		{"full heartbeat (agents before the short one)", KindHeartbeat, full.Header(), 40, full},
		{"host id header equal to the subject's", KindHeartbeat, with(func(h map[string][]string) { h[HeaderHostID] = []string{"h1"} }), 40,
			Envelope{Version: 1, HostID: "h1", Epoch: testEpoch, Seq: 7, Kind: KindHeartbeat, ScanTime: scan, MsgID: 9,
				Chunks: 1, Encoding: EncodingIdentity, Size: 40}},
		{"host id header of another host", KindHeartbeat, with(func(h map[string][]string) { h[HeaderHostID] = []string{"h2"} }), 40, Envelope{}},
		{"kind header other than the subject's", KindHeartbeat, with(func(h map[string][]string) { h[HeaderKind] = []string{"snapshot"} }), 40, Envelope{}},
		{"version 2", KindHeartbeat, with(func(h map[string][]string) { h[HeaderVersion] = []string{"2"} }), 40, Envelope{}},
		{"no epoch", KindHeartbeat, with(func(h map[string][]string) { delete(h, HeaderEpoch) }), 40, Envelope{}},
		{"no seq", KindHeartbeat, with(func(h map[string][]string) { delete(h, HeaderSeq) }), 40, Envelope{}},
		{"no msg id", KindHeartbeat, with(func(h map[string][]string) { delete(h, HeaderMsgID) }), 40, Envelope{}},
		{"no scan time", KindHeartbeat, with(func(h map[string][]string) { delete(h, HeaderScanTime) }), 40, Envelope{}},
		{"zstd without size", KindHeartbeat, with(func(h map[string][]string) { h[HeaderEncoding] = []string{EncodingZstd} }), 40, Envelope{}},
		{"chunked without size", KindHeartbeat, with(func(h map[string][]string) { h[HeaderChunks] = []string{"2"} }), 40, Envelope{}},
		{"short delta with base seq", KindDelta, with(func(h map[string][]string) { h[HeaderBaseSeq] = []string{"6"} }), 40,
			Envelope{Version: 1, HostID: "h1", Epoch: testEpoch, Seq: 7, BaseSeq: 6, Kind: KindDelta, ScanTime: scan, MsgID: 9,
				Chunks: 1, Encoding: EncodingIdentity, Size: 40}},
		{"delta without base seq", KindDelta, shortHeartbeat(), 40, Envelope{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMessageEnvelope("h1", tc.kind, tc.header, tc.dataLen)
			if tc.want == (Envelope{}) {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %+v, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

// TestWireHeader: agents send the short set on a heartbeat of one identity
// chunk and the full set on everything else; both read back as the same
// envelope.
func TestWireHeader(t *testing.T) {
	scan := time.Date(2026, 11, 25, 22, 47, 4, 123456789, time.UTC)
	for _, tc := range []struct {
		name  string
		env   Envelope
		short bool
	}{
		{"heartbeat", Envelope{Kind: KindHeartbeat, Chunks: 1, Encoding: EncodingIdentity, Size: 2}, true},
		{"zstd heartbeat", Envelope{Kind: KindHeartbeat, Chunks: 1, Encoding: EncodingZstd, Size: 900}, false},
		{"snapshot", Envelope{Kind: KindSnapshot, Chunks: 1, Encoding: EncodingIdentity, Size: 2}, false},
		{"delta", Envelope{Kind: KindDelta, BaseSeq: 6, Chunks: 1, Encoding: EncodingIdentity, Size: 2}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			env.Version, env.HostID, env.Hostname, env.Epoch, env.Seq, env.ScanTime, env.IntervalMS, env.MsgID =
				1, "h1", "web-1", testEpoch, 7, scan, 10000, 9
			h := env.WireHeader()
			if short := len(h) == 4; short != tc.short {
				t.Fatalf("headers %v, short %v", h, tc.short)
			}
			if !tc.short && !maps.EqualFunc(h, env.Header(), func(a, b []string) bool { return a[0] == b[0] }) {
				t.Fatalf("headers %v, want the full set", h)
			}
			got, err := ParseMessageEnvelope("h1", env.Kind, h, int(env.Size))
			if tc.short {
				env.Hostname, env.IntervalMS = "", 0 // unchanged: the host record's
			}
			if err != nil || got != env {
				t.Fatalf("read back %+v, %v\nwant %+v", got, err, env)
			}
		})
	}
}

// FuzzParseMessageEnvelope checks that any subset of headers with any
// values gives an envelope that passes its own checks and reads back the
// same from the headers an agent would send for it, or an error; never a
// panic.
func FuzzParseMessageEnvelope(f *testing.F) {
	// The short heartbeat (present: epoch, seq, scan time, msg id).
	f.Add(uint16(0b0000_0101_1000), "hb", "1", "h1", testEpoch, "7", "", "2026-01-01T00:00:00Z", "9", "0", "1", "identity", "2", 2)
	// Every header: the full set of a delta.
	f.Add(uint16(0b1111_1111_1111), "delta", "1", "h1", testEpoch, "7", "6", "2026-01-01T00:00:00Z", "9", "0", "1", "identity", "2", 2)
	// A chunked zstd snapshot without its size.
	f.Add(uint16(0b0011_1101_1000), "snapshot", "1", "h1", testEpoch, "7", "", "2026-01-01T00:00:00Z", "9", "1", "3", "zstd", "", 100)
	// A host id header naming another host than the subject.
	f.Add(uint16(0b0000_0101_1010), "hb", "1", "h2", testEpoch, "7", "", "2026-01-01T00:00:00Z", "9", "0", "1", "identity", "2", 2)
	// Negative data length with no size header.
	f.Add(uint16(0b0000_0101_1000), "hb", "1", "h1", testEpoch, "7", "", "2026-01-01T00:00:00Z", "9", "0", "1", "identity", "2", -1)
	f.Fuzz(func(t *testing.T, present uint16, kind, version, host, epoch, seq, base, scan, msgID, chunk, chunks, encoding, size string, dataLen int) {
		if dataLen < 0 {
			dataLen = 0 // a length is never negative; ParseEnvelope covers unknown ones
		}
		names := []string{HeaderVersion, HeaderHostID, HeaderHostname, HeaderEpoch, HeaderSeq, HeaderBaseSeq,
			HeaderKind, HeaderScanTime, HeaderMsgID, HeaderChunk, HeaderChunks, HeaderEncoding, HeaderSize}
		values := []string{version, host, "web-1", epoch, seq, base, kind, scan, msgID, chunk, chunks, encoding, size}
		h := map[string][]string{}
		for i, name := range names {
			if present&(1<<(len(names)-1-i)) != 0 {
				h[name] = []string{values[i]}
			}
		}
		env, err := ParseMessageEnvelope("h1", Kind(kind), h, dataLen)
		if err != nil {
			return
		}
		if err := env.check(); err != nil {
			t.Fatalf("accepted envelope fails its checks: %v", err)
		}
		again, err := ParseMessageEnvelope("h1", env.Kind, env.WireHeader(), int(env.Size))
		if err != nil {
			t.Fatalf("the agent's headers for %+v do not read back: %v", env, err)
		}
		if env.Kind == KindHeartbeat && len(env.WireHeader()) == 4 {
			again.Hostname, again.IntervalMS = env.Hostname, env.IntervalMS
		}
		if !again.ScanTime.Equal(env.ScanTime) {
			t.Fatalf("scan time %v read back as %v", env.ScanTime, again.ScanTime)
		}
		again.ScanTime = env.ScanTime
		if again != env {
			t.Fatalf("round trip: %+v\nvs %+v", again, env)
		}
	})
}
