package snapshot

import (
	"encoding/json"
	"fmt"
	"slices"
	"unsafe"
)

// partial is a chunked message being collected.
type partial struct {
	env   Envelope
	parts [][]byte
	got   int
	bytes int64 // of the chunks held
	// slots is what parts costs before any chunk is in it, which the
	// first chunk's envelope sizes (up to MaxChunks slices).
	slots int64
}

// slotBytes is the size of one of a partial's parts.
const slotBytes = int64(unsafe.Sizeof([]byte(nil)))

// sameMessage reports whether two chunk envelopes describe the same message.
func sameMessage(a, b *Envelope) bool {
	return a.Epoch == b.Epoch && a.MsgID == b.MsgID && a.Kind == b.Kind && a.Seq == b.Seq &&
		a.BaseSeq == b.BaseSeq && a.Chunks == b.Chunks && a.Encoding == b.Encoding && a.Size == b.Size
}

// collect adds one chunk to hs and returns the whole encoded body once every
// chunk is there. data is copied when it has to be kept.
func (a *Assembler) collect(hs *hostState, env Envelope, data []byte) ([]byte, bool, error) {
	if env.Size > a.cfg.MaxBodyBytes {
		return nil, false, fmt.Errorf("%w: body of %d bytes exceeds the %d byte limit", ErrMalformed, env.Size, a.cfg.MaxBodyBytes)
	}
	if env.Chunks > a.cfg.MaxChunks {
		return nil, false, fmt.Errorf("%w: %d chunks exceed the limit of %d", ErrMalformed, env.Chunks, a.cfg.MaxChunks)
	}
	if int64(len(data)) > a.cfg.MaxBodyBytes {
		return nil, false, fmt.Errorf("%w: chunk of %d bytes exceeds the %d byte limit", ErrMalformed, len(data), a.cfg.MaxBodyBytes)
	}
	if env.Chunks == 1 {
		return data, true, nil
	}
	key := pendingKey{epoch: env.Epoch, msgID: env.MsgID}
	p := hs.pending[key]
	if p == nil {
		if len(hs.pending) >= a.cfg.MaxPending {
			hs.evictOldestPending()
		}
		slots := int64(env.Chunks) * slotBytes
		a.chunks.makeRoom(slots, a.cfg.MaxPendingBytes, nil)
		p = &partial{env: env, parts: make([][]byte, env.Chunks), slots: slots}
		hs.addPending(key, p)
	}
	if !sameMessage(&p.env, &env) {
		hs.dropPending(key)
		return nil, false, fmt.Errorf("%w: chunk %d of message %d disagrees with its other chunks", ErrMalformed, env.Chunk, env.MsgID)
	}
	if p.parts[env.Chunk] != nil {
		return nil, false, nil // a duplicate chunk
	}
	if p.bytes+int64(len(data)) > a.cfg.MaxBodyBytes {
		hs.dropPending(key)
		return nil, false, fmt.Errorf("%w: message %d exceeds the %d byte limit", ErrMalformed, env.MsgID, a.cfg.MaxBodyBytes)
	}
	a.chunks.makeRoom(int64(len(data)), a.cfg.MaxPendingBytes, p)
	p.parts[env.Chunk] = append(make([]byte, 0, len(data)+1), data...) // non-nil even when empty
	p.bytes += int64(len(data))
	a.chunks.bytes += int64(len(data))
	p.got++
	if p.got < env.Chunks {
		return nil, false, nil
	}
	hs.dropPending(key)
	return slices.Concat(p.parts...), true, nil
}

type pendingKey struct {
	epoch string
	msgID uint64
}

// pendingChunks accounts the chunks that the incomplete messages of every
// host hold, and their slots for the chunks to come, so that their total
// stays within MaxPendingBytes however many hosts a forger makes up: the
// messages begun first are dropped first to make room.
type pendingChunks struct {
	bytes int64 // the chunks and slots held
	live  int   // the incomplete messages
	// queue lists the incomplete messages in the order they began,
	// some of them complete or dropped since (they are skipped).
	queue []pendingRef
}

// pendingRef is one incomplete message as queued.
type pendingRef struct {
	hs  *hostState
	key pendingKey
	p   *partial
}

// makeRoom drops the incomplete messages begun first, but keep (nil for
// none), until n more bytes of chunks or slots fit in limit (0 for no
// limit).
func (c *pendingChunks) makeRoom(n, limit int64, keep *partial) {
	for limit > 0 && c.bytes+n > limit && len(c.queue) > 0 {
		r := c.queue[0]
		c.queue = c.queue[1:]
		if r.p == keep {
			c.queue = append(c.queue, r) // it is the one being added to
			if c.live == 1 {
				return
			}
			continue
		}
		if r.hs.pending[r.key] == r.p {
			r.hs.dropPending(r.key)
		}
	}
}

// addPending keeps p, an incomplete message of the host.
func (hs *hostState) addPending(key pendingKey, p *partial) {
	hs.pending[key] = p
	c := hs.chunks
	c.live++
	c.bytes += p.slots
	if len(c.queue) > 2*c.live+64 {
		c.queue = slices.DeleteFunc(c.queue, func(r pendingRef) bool { return r.hs.pending[r.key] != r.p })
	}
	c.queue = append(c.queue, pendingRef{hs: hs, key: key, p: p})
}

// dropPending forgets the incomplete message key of the host, complete or
// not.
func (hs *hostState) dropPending(key pendingKey) {
	if p, ok := hs.pending[key]; ok {
		hs.chunks.bytes -= p.bytes + p.slots
		hs.chunks.live--
		delete(hs.pending, key)
	}
}

func (hs *hostState) evictOldestPending() {
	var oldest pendingKey
	first := true
	for k := range hs.pending {
		if first || k.msgID < oldest.msgID {
			oldest, first = k, false
		}
	}
	hs.dropPending(oldest)
}

// zstdRatio is the compression ratio up to which a zstd body is
// decompressed into one buffer made at once: a snapshot's JSON compresses
// 10 to 20 times. Beyond it the buffer grows as the data decodes.
const zstdRatio = 32

// decodeBody undoes the encoding and checks the size the envelope promised.
func (a *Assembler) decodeBody(env *Envelope, data []byte) ([]byte, error) {
	switch env.Encoding {
	case EncodingIdentity:
		if int64(len(data)) != env.Size {
			return nil, fmt.Errorf("%w: body is %d bytes, header says %d", ErrMalformed, len(data), env.Size)
		}
		return data, nil
	case EncodingZstd:
		// The body's size as the header says, unless that is more than
		// zstdRatio times the data: so much is never made up front for a
		// message that only claims it.
		out, err := a.zdec.DecodeAll(data, make([]byte, 0, min(env.Size, int64(len(data))*zstdRatio+64)))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %w", ErrMalformed, err)
		}
		if int64(len(out)) != env.Size {
			return nil, fmt.Errorf("%w: body decodes to %d bytes, header says %d", ErrMalformed, len(out), env.Size)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown encoding %q", ErrMalformed, env.Encoding)
}

// decodeJSON decodes a message body into v.
func decodeJSON(body []byte, kind Kind, v any) error {
	var err error
	switch x := v.(type) {
	case *Snapshot:
		err = decodeStateJSON(body, x, stateLists{sockets: map[string]*[]Socket{"sockets": &x.Sockets},
			procs: map[string]*[]Process{"processes": &x.Processes}}, func() { *x = Snapshot{} })
	case *Delta:
		err = decodeStateJSON(body, x, stateLists{sockets: map[string]*[]Socket{"sockets_added": &x.SocketsAdded, "sockets_changed": &x.SocketsChanged},
			procs: map[string]*[]Process{"added": &x.Added, "changed": &x.Changed}},
			func() { *x = Delta{} })
	default:
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		return fmt.Errorf("%w: %s body: %w", ErrMalformed, kind, err)
	}
	return nil
}
