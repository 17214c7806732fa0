package snapshot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WireVersion is the version of the wire format in subjects (".v1.") and in
// the Proctag-Version header. A subscriber rejects other versions.
const WireVersion = 1

// Kind is what a message carries.
type Kind string

// The message kinds; each is also the last token of the message's subject.
const (
	// KindSnapshot carries a full Snapshot.
	KindSnapshot Kind = "snapshot"
	// KindDelta carries a Delta from state BaseSeq to state Seq.
	KindDelta Kind = "delta"
	// KindHeartbeat carries Stats; Seq is the last state published.
	KindHeartbeat Kind = "hb"
)

// Body encodings.
const (
	// EncodingZstd is a single zstd frame.
	EncodingZstd = "zstd"
	// EncodingIdentity is the JSON body as is.
	EncodingIdentity = "identity"
)

// Header names of the envelope fields. NATS headers are case-sensitive in
// nats.go; publishers write exactly these.
const (
	HeaderVersion    = "Proctag-Version"
	HeaderHostID     = "Proctag-Host-Id"
	HeaderHostname   = "Proctag-Hostname"
	HeaderEpoch      = "Proctag-Epoch"
	HeaderSeq        = "Proctag-Seq"
	HeaderBaseSeq    = "Proctag-Base-Seq"
	HeaderKind       = "Proctag-Kind"
	HeaderScanTime   = "Proctag-Scan-Time"
	HeaderIntervalMS = "Proctag-Interval-Ms"
	HeaderMsgID      = "Proctag-Msg-Id"
	HeaderChunk      = "Proctag-Chunk"
	HeaderChunks     = "Proctag-Chunks"
	HeaderEncoding   = "Content-Encoding"
	HeaderSize       = "Proctag-Size"
)

// Envelope is the metadata of one wire message, carried in NATS headers
// (one header per field, names above) so that a subscriber can route, order
// and reassemble without decoding the body. Its JSON form is what WIRE.md
// shows and what `proctag watch` prints for debugging.
type Envelope struct {
	// Version is WireVersion.
	Version int `json:"version"`
	// HostID is the publishing host's id (also the subject's host token).
	HostID string `json:"host_id"`
	// Hostname is the host's kernel host name; "" when the message left it
	// out (a heartbeat): unchanged.
	Hostname string `json:"hostname"`
	// Epoch identifies one run of the agent; it changes at every start and
	// sorts by start time (see NewEpoch, CompareEpochs).
	Epoch string `json:"epoch"`
	// Seq numbers the states an epoch publishes, from 1; a heartbeat
	// repeats the last state's Seq.
	Seq uint64 `json:"seq"`
	// BaseSeq is, for a delta, the Seq of the state it applies to: always
	// Seq-1.
	BaseSeq uint64 `json:"base_seq,omitempty"`
	// Kind is what the body carries.
	Kind Kind `json:"kind"`
	// ScanTime is when the scan behind this message started.
	ScanTime time.Time `json:"scan_time"`
	// IntervalMS is the agent's tick interval, in milliseconds; 0 when the
	// message left it out (a heartbeat): unchanged.
	IntervalMS int64 `json:"interval_ms"`
	// MsgID numbers the messages of an epoch, from 1; all chunks of one
	// message share it.
	MsgID uint64 `json:"msg_id"`
	// Chunk is this chunk's index (from 0) among Chunks (at least 1).
	Chunk  int `json:"chunk"`
	Chunks int `json:"chunks"`
	// Encoding is EncodingZstd or EncodingIdentity; it applies to the
	// concatenation of all chunks.
	Encoding string `json:"encoding"`
	// Size is the length of the decoded (JSON) body in bytes.
	Size int64 `json:"size"`
}

// ErrMalformed is wrapped by every error about a message that breaks the
// wire format (bad header, bad subject, bad body).
var ErrMalformed = errors.New("malformed message")

// Header renders the envelope as NATS headers (nats.Header is the same
// map type): every field, the full set that agents send on snapshots and
// deltas and that agents before the short heartbeat sent on heartbeats too.
func (e *Envelope) Header() map[string][]string {
	h := map[string][]string{
		HeaderVersion:    {strconv.Itoa(e.Version)},
		HeaderHostID:     {e.HostID},
		HeaderHostname:   {e.Hostname},
		HeaderEpoch:      {e.Epoch},
		HeaderSeq:        {strconv.FormatUint(e.Seq, 10)},
		HeaderKind:       {string(e.Kind)},
		HeaderScanTime:   {e.ScanTime.UTC().Format(time.RFC3339Nano)},
		HeaderIntervalMS: {strconv.FormatInt(e.IntervalMS, 10)},
		HeaderMsgID:      {strconv.FormatUint(e.MsgID, 10)},
		HeaderChunk:      {strconv.Itoa(e.Chunk)},
		HeaderChunks:     {strconv.Itoa(e.Chunks)},
		HeaderEncoding:   {e.Encoding},
		HeaderSize:       {strconv.FormatInt(e.Size, 10)},
	}
	if e.Kind == KindDelta {
		h[HeaderBaseSeq] = []string{strconv.FormatUint(e.BaseSeq, 10)}
	}
	return h
}

// WireHeader renders the headers an agent sends with the envelope: Header's
// full set on snapshots and deltas; on a heartbeat of one identity chunk
// only the required ones (epoch, seq, msg id, scan time), since the others
// repeat the subject, are constant or are the host record's (WIRE.md,
// "Envelope"). A quiet host's tick is that heartbeat.
func (e *Envelope) WireHeader() map[string][]string {
	if e.Kind != KindHeartbeat || e.Chunks != 1 || e.Chunk != 0 || e.Encoding != EncodingIdentity || e.Version != WireVersion {
		return e.Header()
	}
	return map[string][]string{
		HeaderEpoch:    {e.Epoch},
		HeaderSeq:      {strconv.FormatUint(e.Seq, 10)},
		HeaderMsgID:    {strconv.FormatUint(e.MsgID, 10)},
		HeaderScanTime: {e.ScanTime.UTC().Format(time.RFC3339Nano)},
	}
}

// headerBytes is the size of h on the wire (NATS/1.0 line, one line per
// value, blank line), to keep header plus chunk under the max payload.
func headerBytes(h map[string][]string) int {
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n
}

// ParseEnvelope reads and checks the envelope headers of one message when
// neither its subject nor its data is at hand: Proctag-Host-Id,
// Proctag-Kind and Proctag-Size are then required on top of what
// ParseMessageEnvelope requires. Errors wrap ErrMalformed.
func ParseEnvelope(h map[string][]string) (Envelope, error) {
	return parseEnvelope(h, "", "", -1)
}

// ParseMessageEnvelope reads and checks the envelope of one message received
// on the data subject of hostID and kind (ParseSubject) with dataLen bytes
// of data. Headers left out take their defaults (WIRE.md, "Envelope"):
// version 1, host id and kind the subject's, chunk 0 of 1, encoding
// identity, size the data's length (only for one identity chunk), and
// Hostname "" and IntervalMS 0, which mean unchanged since the host's last
// message. Host id and kind headers that are present must equal the
// subject's. Epoch, seq, msg id, scan time and, on a delta, base seq are
// always required. Errors wrap ErrMalformed.
func ParseMessageEnvelope(hostID string, kind Kind, h map[string][]string, dataLen int) (Envelope, error) {
	return parseEnvelope(h, hostID, kind, dataLen)
}

// parseEnvelope reads h; subjectHost and subjectKind are "" and dataLen is
// negative when unknown, and the headers they would default are then
// required.
func parseEnvelope(h map[string][]string, subjectHost string, subjectKind Kind, dataLen int) (Envelope, error) {
	var e Envelope
	var err error
	has := func(name string) bool { return len(h[name]) > 0 }
	get := func(name string) string {
		if vs := h[name]; len(vs) > 0 {
			return vs[0]
		}
		err = errors.Join(err, fmt.Errorf("header %s missing", name))
		return ""
	}
	num := func(name string, bits int) int64 {
		s := get(name)
		if s == "" {
			return 0
		}
		v, perr := strconv.ParseInt(s, 10, bits)
		if perr != nil || v < 0 {
			err = errors.Join(err, fmt.Errorf("header %s: %q is not a non-negative integer", name, s))
		}
		return v
	}
	unum := func(name string) uint64 {
		s := get(name)
		if s == "" {
			return 0
		}
		v, perr := strconv.ParseUint(s, 10, 64)
		if perr != nil {
			err = errors.Join(err, fmt.Errorf("header %s: %q is not a non-negative integer", name, s))
		}
		return v
	}
	e.Version = WireVersion
	if has(HeaderVersion) {
		e.Version = int(num(HeaderVersion, 32))
	}
	e.HostID = subjectHost
	if subjectHost == "" || has(HeaderHostID) {
		e.HostID = get(HeaderHostID)
	}
	if vs := h[HeaderHostname]; len(vs) > 0 {
		e.Hostname = vs[0]
	}
	e.Epoch = get(HeaderEpoch)
	e.Seq = unum(HeaderSeq)
	e.Kind = subjectKind
	if subjectKind == "" || has(HeaderKind) {
		e.Kind = Kind(get(HeaderKind))
	}
	if e.Kind == KindDelta {
		e.BaseSeq = unum(HeaderBaseSeq)
	}
	if s := get(HeaderScanTime); s != "" {
		t, perr := time.Parse(time.RFC3339Nano, s)
		if perr != nil {
			err = errors.Join(err, fmt.Errorf("header %s: %q is not an RFC 3339 time", HeaderScanTime, s))
		}
		e.ScanTime = t
	}
	if has(HeaderIntervalMS) {
		e.IntervalMS = num(HeaderIntervalMS, 64)
	}
	e.MsgID = unum(HeaderMsgID)
	e.Chunks = 1
	if has(HeaderChunk) {
		e.Chunk = int(num(HeaderChunk, 32))
	}
	if has(HeaderChunks) {
		e.Chunks = int(num(HeaderChunks, 32))
	}
	e.Encoding = EncodingIdentity
	if has(HeaderEncoding) {
		e.Encoding = get(HeaderEncoding)
	}
	switch {
	case has(HeaderSize) || dataLen < 0:
		e.Size = num(HeaderSize, 64)
	case e.Chunks == 1 && e.Encoding == EncodingIdentity:
		e.Size = int64(dataLen)
	default:
		err = errors.Join(err, fmt.Errorf("header %s missing (required for a zstd or chunked body)", HeaderSize))
	}
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if subjectHost != "" && (e.HostID != subjectHost || e.Kind != subjectKind) {
		return Envelope{}, fmt.Errorf("%w: headers say host %s kind %s, subject host %s kind %s", ErrMalformed, e.HostID, e.Kind, subjectHost, subjectKind)
	}
	if err := e.check(); err != nil {
		return Envelope{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

func (e *Envelope) check() error {
	switch {
	case e.Version != WireVersion:
		return fmt.Errorf("wire version %d, want %d", e.Version, WireVersion)
	case !ValidToken(e.HostID):
		return fmt.Errorf("host id %q is not a NATS subject token", e.HostID)
	case !ValidEpoch(e.Epoch):
		return fmt.Errorf("epoch %q is not 16 hex digits of a start time, '-', 8 hex digits", e.Epoch)
	case e.Kind != KindSnapshot && e.Kind != KindDelta && e.Kind != KindHeartbeat:
		return fmt.Errorf("unknown kind %q", e.Kind)
	case e.Kind != KindHeartbeat && e.Seq == 0:
		return errors.New("state message with seq 0")
	case e.Kind == KindDelta && e.Seq != e.BaseSeq+1:
		return fmt.Errorf("delta seq %d does not follow its base seq %d", e.Seq, e.BaseSeq)
	case e.Chunks < 1 || e.Chunk >= e.Chunks:
		return fmt.Errorf("chunk %d of %d", e.Chunk, e.Chunks)
	case e.Encoding != EncodingZstd && e.Encoding != EncodingIdentity:
		return fmt.Errorf("unknown encoding %q", e.Encoding)
	}
	return nil
}

// ValidToken reports whether s can be one token of a NATS subject: not
// empty, no '.', '*', '>' or white space.
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r == '.' || r == '*' || r == '>':
			return false
		case r <= ' ' || r == 0x7f:
			return false
		}
	}
	return true
}

// DefaultSubjectPrefix is the subject prefix of agents whose config leaves
// nats.subject-prefix out, and of subscribers that name none (WIRE.md,
// "Subjects").
const DefaultSubjectPrefix = "proctag"

// Subject returns the subject a host publishes kind on:
// <prefix>.v1.<hostID>.<kind>.
func Subject(prefix, hostID string, kind Kind) string {
	return prefix + ".v1." + hostID + "." + string(kind)
}

// ControlSubject is the request-reply subject on which the host's agent
// answers control requests (resync).
func ControlSubject(prefix, hostID string) string {
	return prefix + ".v1." + hostID + ".control"
}

// BroadcastControlSubject is the subject every agent under prefix listens
// on for control requests addressed to all hosts. Agents answer it under the
// same rate limit as their own control subject; subscribers do not need it
// to join (WIRE.md, "Trust").
func BroadcastControlSubject(prefix string) string {
	return prefix + ".v1.control"
}

// SubscribeSubject returns the wildcard subject that matches every message
// of one host, or of all hosts when hostID is "" or "*". Note that it also
// matches the control subject, which carries no envelope.
func SubscribeSubject(prefix, hostID string) string {
	if hostID == "" {
		hostID = "*"
	}
	return prefix + ".v1." + hostID + ".>"
}

// ParseSubject splits a message subject published under prefix into host id
// and kind. ok is false for subjects that are not data subjects.
func ParseSubject(prefix, subject string) (hostID string, kind Kind, ok bool) {
	rest, found := strings.CutPrefix(subject, prefix+".v1.")
	if !found {
		return "", "", false
	}
	hostID, k, found := strings.Cut(rest, ".")
	if !found || !ValidToken(hostID) {
		return "", "", false
	}
	switch Kind(k) {
	case KindSnapshot, KindDelta, KindHeartbeat:
		return hostID, Kind(k), true
	}
	return "", "", false
}

// StreamName is the JetStream stream that keeps, per host under prefix, the
// last full snapshot and the deltas after it: "PROCTAG_" plus the prefix in
// upper case with characters other than letters, digits, '-' and '_'
// replaced by '_'.
func StreamName(prefix string) string {
	var b strings.Builder
	b.WriteString("PROCTAG_")
	for _, r := range strings.ToUpper(prefix) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// MaxControlRequestBytes bounds the body of a control request; an agent
// refuses larger ones without parsing them.
const MaxControlRequestBytes = 1024

// ControlRequest is the JSON body of a request on a control subject.
type ControlRequest struct {
	// Op is the operation; "resync" is the only one in v1.
	Op string `json:"op"`
}

// ControlReply is the agent's JSON answer to a ControlRequest.
type ControlReply struct {
	// OK is true when the request was accepted.
	OK bool `json:"ok"`
	// Error says why not.
	Error string `json:"error,omitempty"`
	// HostID and Epoch identify the answering agent.
	HostID string `json:"host_id"`
	Epoch  string `json:"epoch"`
	// Seq is the seq of the last state the agent numbered when it answered
	// (0 before the first). A subscriber checks its own view against it
	// (Assembler.Confirm).
	Seq uint64 `json:"seq,omitempty"`
}

// OpResync asks the agent to publish a full snapshot (with a new seq) as
// soon as it can.
const OpResync = "resync"
