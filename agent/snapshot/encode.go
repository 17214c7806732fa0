package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// DefaultMaxPayload is NATS's default max payload (headers plus data).
const DefaultMaxPayload = 1 << 20

// minCompressBytes is the body size under which compression is not tried:
// a heartbeat gains nothing from a zstd frame header.
const minCompressBytes = 512

// zstdWindow is the encoder's window. JSON's repeats are near each other, so
// a small window loses nothing: a 22 MB snapshot of 100,000 sockets
// compresses to 11.2 % of its size with it, and the encoder keeps about
// 0.6 MiB of history for the life of the agent.
const zstdWindow = 256 << 10

// zstdLevel is the encoders' level. zstd.SpeedFastest's tables take 0.25
// MiB where SpeedDefault's take 1.25, for 0.5 % more bytes in a full
// snapshot (BenchmarkEncodeFull: 2,488,872 against 2,476,974 for 100,000
// sockets, in 102-107 ms against 137-145 ms) and 1-2 % more in a delta
// (BenchmarkWirePerTick).
const zstdLevel = zstd.SpeedFastest

// chunkIndexRoom is the space reserved in the header estimate for chunk
// numbers of up to 10 digits each.
const chunkIndexRoom = 20

// Message is one wire message ready for NATS: nats.Msg's Subject, Header and
// Data.
type Message struct {
	Subject string
	Header  map[string][]string
	Data    []byte
}

// Size is the message's size on the wire as NATS counts it against the max
// payload: headers plus data.
func (m *Message) Size() int { return headerBytes(m.Header) + len(m.Data) }

// WireBytes is what publishing the message sends on the connection: the
// HPUB line with the subject and the sizes, the header block, the data and
// the final CRLF. A subscriber receives as much plus its subscription id
// (the HMSG line).
func (m *Message) WireBytes() int { return frameBytes(m.Subject, headerBytes(m.Header), len(m.Data)) }

// frameBytes is the size of "HPUB <subject> <hdr> <hdr+data>\r\n", the
// header block, the data and "\r\n".
func frameBytes(subject string, hdr, data int) int {
	return len("HPUB  \r\n\r\n") + len(subject) + 1 + digits(hdr) + digits(hdr+data) + hdr + data
}

// digits is the number of decimal digits of n >= 0.
func digits(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// Encoder turns snapshots, deltas and stats into wire messages: JSON, zstd
// when that saves bytes, split into chunks that fit MaxPayload. It is safe
// for concurrent use; one per publisher is enough.
type Encoder struct {
	prefix     string
	maxPayload int
	zenc       *zstd.Encoder

	mu      sync.Mutex    // guards zstream, one streamed snapshot at a time
	zstream *zstd.Encoder // made at the first snapshot larger than streamAfter
}

// streamAfter is the JSON size from which a snapshot is compressed while it is
// written instead of after: smaller ones are encoded whole, as other bodies.
const streamAfter = 256 << 10

// NewEncoder returns an encoder for subjects under prefix whose messages
// (headers plus data) are at most maxPayload bytes; 0 means
// DefaultMaxPayload. maxPayload must leave room for the headers (1 KiB is
// the smallest accepted).
func NewEncoder(prefix string, maxPayload int) (*Encoder, error) {
	if maxPayload == 0 {
		maxPayload = DefaultMaxPayload
	}
	if maxPayload < 1024 {
		return nil, fmt.Errorf("new encoder: max payload %d is below 1024 bytes", maxPayload)
	}
	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstdLevel),
		zstd.WithWindowSize(zstdWindow), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("new encoder: %w", err)
	}
	return &Encoder{prefix: prefix, maxPayload: maxPayload, zenc: zenc}, nil
}

// MaxPayload returns the size limit the encoder splits to.
func (e *Encoder) MaxPayload() int { return e.maxPayload }

// EncodeSnapshot encodes a full snapshot; env.Kind is set to KindSnapshot.
// It is StreamSnapshot's messages, each with its own copy of its data.
func (e *Encoder) EncodeSnapshot(env Envelope, s *Snapshot) ([]Message, error) {
	st, err := e.StreamSnapshot(env, s)
	if err != nil {
		return nil, err
	}
	msgs := make([]Message, 0, st.Messages())
	err = st.Each(func(m *Message) error {
		c := *m
		c.Data = bytes.Clone(m.Data)
		msgs = append(msgs, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// SnapshotStream is a full snapshot encoded to be sent a message at a
// time; see StreamSnapshot.
type SnapshotStream struct {
	e   *Encoder
	s   *Snapshot
	env Envelope // of a streamed snapshot, with Chunks set
	// room is a streamed snapshot's data per message, size its
	// compressed bytes.
	room, size int
	// msgs are the messages of a snapshot that is not streamed.
	msgs  []Message
	bytes int64
}

// StreamSnapshot encodes a full snapshot (env.Kind is set to KindSnapshot)
// whose messages Each hands out. A snapshot whose JSON passes streamAfter
// bytes is compressed as WriteJSON writes it, so its JSON (22 MB for
// 100,000 sockets) is never in memory whole, and twice: here to learn how
// many chunks it takes, which every message carries, and in Each, which
// cuts each chunk as the compressor writes it. One chunk of the
// compressed body (2.8 MB for 100,000 sockets) is in memory at a time,
// for the CPU of a second compression. s must not change until the last
// Each returns.
func (e *Encoder) StreamSnapshot(env Envelope, s *Snapshot) (*SnapshotStream, error) {
	env.Kind = KindSnapshot
	st := &SnapshotStream{e: e, s: s}
	var count countWriter
	limit := streamAfter
	if minJSON(s) > streamAfter {
		limit = 0 // streamed for sure: no head to buffer
	}
	n, head, err := e.compress(s, &count, limit)
	switch {
	case err != nil:
		return nil, fmt.Errorf("encode %s for host %s: %w", env.Kind, env.HostID, err)
	case head != nil:
		// Small enough to encode whole.
		st.msgs, err = e.Encode(env, head)
	case count.n < n:
		env.Version, env.Size, env.Encoding = WireVersion, n, EncodingZstd
		room, err := e.room(env)
		if err != nil {
			return nil, err
		}
		env.Chunks = max(1, (int(count.n)+room-1)/room)
		st.env, st.room, st.size = env, room, int(count.n)
		for i := range env.Chunks {
			env.Chunk = i
			st.bytes += int64(headerBytes(env.WireHeader()))
		}
		st.bytes += count.n
		return st, nil
	default:
		// Compression did not pay (never seen with JSON): the body is
		// kept as it is.
		var body bytes.Buffer
		if err := WriteJSON(&body, s, ""); err != nil {
			return nil, fmt.Errorf("encode %s for host %s: %w", env.Kind, env.HostID, err)
		}
		st.msgs, err = e.Encode(env, body.Bytes())
	}
	if err != nil {
		return nil, err
	}
	for i := range st.msgs {
		st.bytes += int64(st.msgs[i].Size())
	}
	return st, nil
}

// minItemJSON returns the JSON sizes of a zero Process and a zero Socket,
// which no process or socket writes shorter.
var minItemJSON = sync.OnceValues(func() (int, int) {
	p, _ := json.Marshal(Process{})
	k, _ := json.Marshal(Socket{})
	return len(p), len(k)
})

// minJSON returns a lower bound of the size of s's JSON.
func minJSON(s *Snapshot) int {
	p, k := minItemJSON()
	return len(s.Processes)*p + s.NumSockets()*k
}

// Messages returns how many messages Each hands out.
func (st *SnapshotStream) Messages() int {
	if st.msgs != nil {
		return len(st.msgs)
	}
	return st.env.Chunks
}

// Bytes returns the size of the messages as NATS counts them against the
// max payload: headers plus data (see Message.Size).
func (st *SnapshotStream) Bytes() int64 { return st.bytes }

// Each calls fn with each message in order and returns the first error fn
// returns, having stopped there. A message's Data is valid only until fn
// returns (nats.go copies what it publishes). Each may be called again, to
// send the snapshot by another route.
func (st *SnapshotStream) Each(fn func(*Message) error) error {
	if st.msgs != nil {
		for i := range st.msgs {
			if err := fn(&st.msgs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	em := emitter{env: st.env, subject: Subject(st.e.prefix, st.env.HostID, st.env.Kind),
		buf: make([]byte, 0, st.room), fn: fn}
	n, head, err := st.e.compress(st.s, &em, 0) // it streamed the first time
	switch {
	case em.err != nil:
		return em.err
	case err != nil:
		return fmt.Errorf("encode %s for host %s: %w", st.env.Kind, st.env.HostID, err)
	case head != nil || n != st.env.Size || em.n+len(em.buf) != st.size:
		return fmt.Errorf("encode %s for host %s: the snapshot changed while it was sent (%d bytes of JSON, %d compressed, against %d and %d)",
			st.env.Kind, st.env.HostID, n, em.n+len(em.buf), st.env.Size, st.size)
	}
	return em.emit()
}

// compress writes s as JSON, compressed into out when it passes limit
// bytes, and returns the JSON's size; and the JSON when it did not pass,
// else nil. The compressed bytes do not depend on limit.
func (e *Encoder) compress(s *Snapshot, out io.Writer, limit int) (n int64, head []byte, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	sw := spillWriter{limit: limit, stream: e.startStream, out: out}
	err = WriteJSON(&sw, s, "")
	if sw.z == nil {
		return sw.n, sw.head.Bytes(), err
	}
	if cerr := sw.z.Close(); err == nil {
		err = cerr // else Close fails with the same error
	}
	// The compressor is kept for the next snapshot; its writer is not.
	sw.z.Reset(io.Discard)
	return sw.n, nil, err
}

// startStream returns the streaming compressor reset to write into out.
// Called with e.mu held.
func (e *Encoder) startStream(out io.Writer) (*zstd.Encoder, error) {
	if e.zstream == nil {
		z, err := zstd.NewWriter(out, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstdLevel),
			zstd.WithWindowSize(zstdWindow), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, err
		}
		e.zstream = z
		return z, nil
	}
	e.zstream.Reset(out)
	return e.zstream, nil
}

// spillWriter keeps what is written in head until it passes limit, then
// compresses head and all that follows into out; n counts the bytes written.
type spillWriter struct {
	limit  int
	stream func(io.Writer) (*zstd.Encoder, error)
	head   bytes.Buffer
	out    io.Writer
	z      *zstd.Encoder
	n      int64
}

func (w *spillWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if w.z == nil {
		if w.head.Len()+len(p) <= w.limit {
			return w.head.Write(p)
		}
		z, err := w.stream(w.out)
		if err != nil {
			return 0, err
		}
		w.z = z
		if _, err := z.Write(w.head.Bytes()); err != nil {
			return 0, err
		}
		w.head = bytes.Buffer{}
	}
	return w.z.Write(p)
}

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// emitter cuts what is written into the data of env's messages, each
// filling buf (room bytes) but the last, and hands each to fn as it is
// full; emit hands out the last. It fails with fn's first error (err), or
// when it would cut more messages than env.Chunks.
type emitter struct {
	env     Envelope
	subject string
	buf     []byte
	fn      func(*Message) error
	n       int // bytes handed out
	err     error
}

func (w *emitter) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf, p = w.buf[:len(w.buf)+k], p[k:]
		if len(w.buf) == cap(w.buf) && len(p) > 0 {
			// More follows a full buffer, so it is not the last chunk,
			// which Each hands out once the sizes are checked.
			if w.env.Chunk+1 >= w.env.Chunks {
				return 0, errGrew
			}
			if err := w.emit(); err != nil {
				return 0, err
			}
		}
	}
	return written, nil
}

// errGrew is the emitter's error when the snapshot's compressed body grew
// past the chunks its first compression counted.
var errGrew = errors.New("the snapshot changed while it was sent (it grew past its chunks)")

// emit hands buf to fn as the next message.
func (w *emitter) emit() error {
	if w.err != nil {
		return w.err
	}
	m := Message{Subject: w.subject, Header: w.env.WireHeader(), Data: w.buf}
	if err := w.fn(&m); err != nil {
		w.err = err
		return err
	}
	w.n += len(w.buf)
	w.buf = w.buf[:0]
	w.env.Chunk++
	return nil
}

// EncodeDelta encodes a delta from env.BaseSeq to env.Seq.
func (e *Encoder) EncodeDelta(env Envelope, d *Delta) ([]Message, error) {
	env.Kind = KindDelta
	return e.encodeValue(env, d)
}

// EncodeHeartbeat encodes a heartbeat carrying every field of st that is
// not 0 (a subscriber keeps the fields a heartbeat leaves out as they
// were, WIRE.md "hb"). Publishers that send one per tick use
// EncodeHeartbeatStats, which keeps the message small.
func (e *Encoder) EncodeHeartbeat(env Envelope, st *Stats) ([]Message, error) {
	env.Kind = KindHeartbeat
	return e.encodeValue(env, st)
}

// EncodeHeartbeatStats encodes the heartbeat of one tick: the fields of st
// that hs picks (those that changed since hs last sent them, or that it
// has not repeated for a while), as many as keep the message within
// MaxHeartbeatWireBytes on the wire (never fewer than fit in
// minHeartbeatBody bytes of body, so that stats still flow for a host id
// too long for that). hs records what was sent; it belongs to env's epoch.
func (e *Encoder) EncodeHeartbeatStats(env Envelope, st *Stats, hs *HeartbeatStats) ([]Message, error) {
	env.Kind, env.Version, env.Chunk, env.Chunks, env.Encoding = KindHeartbeat, WireVersion, 0, 1, EncodingIdentity
	subject := Subject(e.prefix, env.HostID, env.Kind)
	// The body's budget: what the frame leaves of MaxHeartbeatWireBytes
	// with a three-digit total size (100 to 999 bytes, header included)
	// and room for the subscriber's subscription id in its HMSG line.
	overhead := frameBytes(subject, headerBytes(env.WireHeader()), 100) - 100 + subscriberIDRoom
	body := hs.Body(st, max(minHeartbeatBody, MaxHeartbeatWireBytes-overhead))
	return e.Encode(env, body)
}

func (e *Encoder) encodeValue(env Envelope, v any) ([]Message, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s for host %s: %w", env.Kind, env.HostID, err)
	}
	return e.Encode(env, body)
}

// Encode compresses body when that saves bytes and splits it into messages
// of at most MaxPayload bytes. The envelope's Version, Chunk, Chunks,
// Encoding and Size are set here; the rest comes from env.
func (e *Encoder) Encode(env Envelope, body []byte) ([]Message, error) {
	env.Version = WireVersion
	env.Size = int64(len(body))
	env.Encoding = EncodingIdentity
	data := body
	if len(body) >= minCompressBytes {
		z := e.zenc.EncodeAll(body, make([]byte, 0, len(body)/4))
		if len(z) < len(body) {
			data, env.Encoding = z, EncodingZstd
		}
	}
	return e.split(env, data)
}

// split cuts data, the body as sent (env's Version, Size and Encoding set),
// into messages of at most MaxPayload bytes.
func (e *Encoder) split(env Envelope, data []byte) ([]Message, error) {
	room, err := e.room(env)
	if err != nil {
		return nil, err
	}
	env.Chunks = max(1, (len(data)+room-1)/room)
	subject := Subject(e.prefix, env.HostID, env.Kind)
	msgs := make([]Message, env.Chunks)
	for i := range msgs {
		env.Chunk = i
		msgs[i] = Message{Subject: subject, Header: env.WireHeader(), Data: data[i*room : min(len(data), (i+1)*room)]}
	}
	return msgs, nil
}

// room returns how many bytes of data a message of env (its Version, Size
// and Encoding set) carries within MaxPayload, with room for any chunk
// index and count.
func (e *Encoder) room(env Envelope) (int, error) {
	env.Chunks, env.Chunk = 1, 0
	room := e.maxPayload - headerBytes(env.Header()) - chunkIndexRoom
	if room < 1 {
		return 0, fmt.Errorf("encode %s for host %s: headers leave no room in %d bytes", env.Kind, env.HostID, e.maxPayload)
	}
	return room, nil
}
