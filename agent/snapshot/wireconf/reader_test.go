package wireconf

// This file is the reader written from WIRE.md alone. It may import the
// standard library, nats.go and klauspost/compress/zstd only (see
// TestReaderImportsOnlyWhatWIREmdAllows); section names in the comments
// are WIRE.md's.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/nats-io/nats.go"
)

// obj is a JSON object as decoded with json.Number.
type obj = map[string]any

// procKey is a process's key: (pid, start_time) ("delta").
type procKey struct{ pid, start int64 }

// hostView is what the reader knows of one host ("Sequencing": the epoch
// it follows, the seq of its state, and the state).
type hostView struct {
	epoch   string
	seq     uint64
	synced  bool
	host    obj
	procs   map[procKey]obj
	socks   map[uint64]obj
	addrs   []any // "Host addresses and network"
	closed  []any // the last message's, not state ("Short-lived processes")
	dropped any   // closed_dropped, likewise
	stats   obj   // merged heartbeat stats of the followed epoch ("hb")
	// Envelope fields a heartbeat may leave out ("Which headers").
	hostname   string
	intervalMS int64
	partial    map[string]*chunked // by epoch and msg id
}

// chunked is a message whose chunks are being collected ("Bodies").
type chunked struct {
	chunks int
	parts  map[int][]byte
}

// envelope is the metadata of one message ("Envelope (NATS headers)").
type envelope struct {
	host, kind, epoch, scanTime, encoding string
	seq, baseSeq, msgID                   uint64
	chunk, chunks                         int
	size                                  int64
	hostname                              string
	intervalMS                            int64
}

// reader follows hosts on NATS and rebuilds their states.
type reader struct {
	prefix string
	nc     *nats.Conn
	zdec   *zstd.Decoder
	inbox  string

	mu     sync.Mutex
	hosts  map[string]*hostView
	asked  map[string]bool // a resync asked and not answered by a snapshot yet
	errs   []error
	counts map[string]int // what the reader saw, for the test's coverage checks
}

// newReader subscribes to every host under prefix ("Subjects":
// <prefix>.v1.*.*) and answers nothing; it asks a host for a resync
// ("Control") when it has no state of it or finds a gap.
func newReader(nc *nats.Conn, prefix string) (*reader, error) {
	zdec, err := zstd.NewReader(nil)
	if err != nil {
		return nil, err
	}
	r := &reader{prefix: prefix, nc: nc, zdec: zdec, inbox: nats.NewInbox(),
		hosts: map[string]*hostView{}, asked: map[string]bool{}, counts: map[string]int{}}
	// Replies to resync requests only acknowledge; the snapshot follows.
	if _, err := nc.Subscribe(r.inbox, func(*nats.Msg) {}); err != nil {
		return nil, err
	}
	if _, err := nc.Subscribe(prefix+".v1.*.*", r.handle); err != nil {
		return nil, err
	}
	return r, nc.Flush()
}

func (r *reader) handle(m *nats.Msg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.feed(m); err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %w", m.Subject, err))
	}
}

// feed takes one message.
func (r *reader) feed(m *nats.Msg) error {
	tokens := strings.Split(m.Subject, ".")
	if len(tokens) != 4 || tokens[0] != r.prefix || tokens[1] != "v1" {
		return fmt.Errorf("not a data subject")
	}
	host, kind := tokens[2], tokens[3]
	if kind == "control" {
		return nil // requests, no envelope ("Subjects")
	}
	if kind != "snapshot" && kind != "delta" && kind != "hb" {
		return fmt.Errorf("unknown kind %q", kind)
	}
	env, err := readEnvelope(host, kind, m.Header, len(m.Data))
	if err != nil {
		return err
	}
	hv := r.hosts[host]
	if hv == nil {
		hv = &hostView{partial: map[string]*chunked{}}
		r.hosts[host] = hv
	}
	// "Bodies": collect the chunks of (epoch, msg_id), concatenate by
	// chunk, decode per encoding, check the size.
	data := m.Data
	if env.chunks > 1 {
		r.counts["chunked"]++
		key := env.epoch + "/" + strconv.FormatUint(env.msgID, 10)
		p := hv.partial[key]
		if p == nil {
			p = &chunked{chunks: env.chunks, parts: map[int][]byte{}}
			hv.partial[key] = p
		}
		p.parts[env.chunk] = bytes.Clone(m.Data)
		if len(p.parts) < p.chunks {
			return nil
		}
		delete(hv.partial, key)
		data = nil
		for i := range p.chunks {
			data = append(data, p.parts[i]...)
		}
	}
	if env.encoding == "zstd" {
		r.counts["zstd"]++
		if data, err = r.zdec.DecodeAll(data, nil); err != nil {
			return err
		}
	}
	if int64(len(data)) != env.size {
		return fmt.Errorf("body of %d bytes, size says %d", len(data), env.size)
	}
	var body obj
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return err
	}
	r.counts[kind]++
	if env.hostname != "" {
		hv.hostname = env.hostname
	}
	if env.intervalMS != 0 {
		hv.intervalMS = env.intervalMS
	}
	// "Sequencing".
	switch kind {
	case "snapshot":
		if hv.host == nil || env.epoch > hv.epoch || (env.epoch == hv.epoch && (env.seq > hv.seq || !hv.synced)) {
			if env.epoch != hv.epoch {
				hv.stats = obj{}
			}
			r.adopt(hv, env, body)
			delete(r.asked, host)
		}
	case "delta":
		switch {
		case hv.synced && env.epoch == hv.epoch && env.baseSeq == hv.seq:
			if err := r.apply(hv, env, body); err != nil {
				hv.synced = false
				r.resync(host)
				return err
			}
		case hv.synced && env.epoch == hv.epoch && env.seq <= hv.seq:
			// a replay
		default:
			hv.synced = false
			r.resync(host)
		}
	case "hb":
		if hv.synced && env.epoch == hv.epoch && env.seq == hv.seq {
			hv.host = maps.Clone(hv.host) // state() handed the old one out
			hv.host["scan_time"] = env.scanTime
			hv.closed, hv.dropped = nil, nil
			r.mergeStats(hv, body)
			return nil
		}
		if env.epoch == hv.epoch {
			r.mergeStats(hv, body)
		}
		hv.synced = false
		r.resync(host)
	}
	return nil
}

// resync asks host for a full snapshot, once until one arrives ("Control").
func (r *reader) resync(host string) {
	if r.asked[host] {
		return
	}
	r.asked[host] = true
	r.counts["resync"]++
	_ = r.nc.PublishRequest(r.prefix+".v1."+host+".control", r.inbox, []byte(`{"op":"resync"}`))
}

// readEnvelope reads the headers, with the defaults of "Which headers a
// message carries".
func readEnvelope(host, kind string, h nats.Header, dataLen int) (envelope, error) {
	env := envelope{host: host, kind: kind, chunks: 1, encoding: "identity", size: -1}
	var errs []error
	get := func(name string) (string, bool) {
		if vs := h[name]; len(vs) > 0 {
			return vs[0], true
		}
		return "", false
	}
	required := func(name string) string {
		v, ok := get(name)
		if !ok {
			errs = append(errs, fmt.Errorf("%s missing", name))
		}
		return v
	}
	uint64Of := func(name, v string) uint64 {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q", name, v))
		}
		return n
	}
	env.epoch = required("Proctag-Epoch")
	env.seq = uint64Of("Proctag-Seq", required("Proctag-Seq"))
	env.msgID = uint64Of("Proctag-Msg-Id", required("Proctag-Msg-Id"))
	env.scanTime = required("Proctag-Scan-Time")
	if kind == "delta" {
		env.baseSeq = uint64Of("Proctag-Base-Seq", required("Proctag-Base-Seq"))
		if env.seq != env.baseSeq+1 {
			errs = append(errs, fmt.Errorf("delta seq %d on base %d", env.seq, env.baseSeq))
		}
	}
	if v, ok := get("Proctag-Version"); ok && v != "1" {
		errs = append(errs, fmt.Errorf("version %s", v))
	}
	if v, ok := get("Proctag-Host-Id"); ok && v != host {
		errs = append(errs, fmt.Errorf("host id %s on host %s's subject", v, host))
	}
	if v, ok := get("Proctag-Kind"); ok && v != kind {
		errs = append(errs, fmt.Errorf("kind %s on a %s subject", v, kind))
	}
	env.hostname, _ = get("Proctag-Hostname")
	if v, ok := get("Proctag-Interval-Ms"); ok {
		env.intervalMS = int64(uint64Of("Proctag-Interval-Ms", v))
	}
	if v, ok := get("Proctag-Chunk"); ok {
		env.chunk = int(uint64Of("Proctag-Chunk", v))
	}
	if v, ok := get("Proctag-Chunks"); ok {
		env.chunks = int(uint64Of("Proctag-Chunks", v))
	}
	if v, ok := get("Content-Encoding"); ok {
		env.encoding = v
	}
	if v, ok := get("Proctag-Size"); ok {
		env.size = int64(uint64Of("Proctag-Size", v))
	} else if env.chunks == 1 && env.encoding == "identity" {
		env.size = int64(dataLen)
	} else {
		errs = append(errs, errors.New("Proctag-Size missing on a zstd or chunked message"))
	}
	if env.chunks < 1 || env.chunk >= env.chunks {
		errs = append(errs, fmt.Errorf("chunk %d of %d", env.chunk, env.chunks))
	}
	if env.encoding != "identity" && env.encoding != "zstd" {
		errs = append(errs, fmt.Errorf("encoding %s", env.encoding))
	}
	if _, err := time.Parse(time.RFC3339Nano, env.scanTime); err != nil || !strings.HasSuffix(env.scanTime, "Z") {
		errs = append(errs, fmt.Errorf("scan time %q is not RFC 3339 in UTC", env.scanTime))
	}
	return env, errors.Join(errs...)
}

// adopt takes a full snapshot as the state ("snapshot").
func (r *reader) adopt(hv *hostView, env envelope, body obj) {
	hv.epoch, hv.seq, hv.synced = env.epoch, env.seq, true
	hv.procs, hv.socks = map[procKey]obj{}, map[uint64]obj{}
	hv.host, _ = body["host"].(obj)
	for _, p := range list(body["processes"]) {
		hv.procs[keyOf(p)] = object(p)
	}
	for _, s := range list(body["sockets"]) {
		hv.socks[inodeOf(s)] = object(s)
	}
	hv.addrs = list(body["addresses"])
	hv.closed, hv.dropped = list(body["closed"]), body["closed_dropped"]
	// Other fields are ignored ("Bodies": a minor change may add fields).
}

// apply applies a delta on its base ("delta"): keys it adds must be new,
// keys it changes or removes must be there.
func (r *reader) apply(hv *hostView, env envelope, body obj) error {
	if h, ok := body["host"].(obj); ok {
		hv.host = h
	}
	if err := applyLists(r, env.seq, hv.procs, "process", "processes",
		list(body["added"]), list(body["changed"]), list(body["removed"]), keyOf, keyOf); err != nil {
		return err
	}
	if err := applyLists(r, env.seq, hv.socks, "socket", "sockets",
		list(body["sockets_added"]), list(body["sockets_changed"]), list(body["sockets_removed"]), inodeOf, uint64Num); err != nil {
		return err
	}
	if a, ok := body["addresses"].([]any); ok { // the whole list, when it changed
		hv.addrs = a
		r.counts["addresses changed"]++
	}
	hv.closed, hv.dropped = list(body["closed"]), body["closed_dropped"]
	hv.seq = env.seq
	return nil
}

// applyLists applies a delta's lists of one kind (processes keyed by pid
// and start time, or sockets by inode) to m: what it adds must be new,
// what it changes or removes must be there. key reads an added or changed
// entry's key, removedKey an entry of removed; one and many name the kind
// in errors and counts.
func applyLists[K comparable](r *reader, seq uint64, m map[K]obj, one, many string,
	added, changed, removed []any, key, removedKey func(any) K) error {
	for _, v := range added {
		if _, ok := m[key(v)]; ok {
			return fmt.Errorf("delta %d adds %s %v, which is there", seq, one, key(v))
		}
		m[key(v)] = object(v)
	}
	for _, v := range changed {
		if _, ok := m[key(v)]; !ok {
			return fmt.Errorf("delta %d changes %s %v, which is not there", seq, one, key(v))
		}
		m[key(v)] = object(v)
		r.counts[many+" changed"]++
	}
	for _, v := range removed {
		k := removedKey(v)
		if _, ok := m[k]; !ok {
			return fmt.Errorf("delta %d removes %s %v, which is not there", seq, one, k)
		}
		delete(m, k)
		r.counts[many+" removed"]++
	}
	return nil
}

// mergeStats applies a heartbeat's fields over the epoch's stats ("hb").
func (r *reader) mergeStats(hv *hostView, body obj) {
	if hv.stats == nil {
		hv.stats = obj{}
	}
	for k, v := range body {
		hv.stats[k] = v
	}
}

// state returns host's state as the JSON of a full snapshot: processes and
// sockets in the documented order.
func (r *reader) state(host string) (obj, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hv := r.hosts[host]
	if hv == nil || !hv.synced {
		return nil, false
	}
	procs := make([]any, 0, len(hv.procs))
	for _, p := range sortedProcs(hv.procs) {
		procs = append(procs, p)
	}
	socks := make([]any, 0, len(hv.socks))
	for _, s := range sortedSockets(hv.socks) {
		socks = append(socks, s)
	}
	s := obj{"host": hv.host, "processes": procs, "sockets": socks}
	if len(hv.addrs) > 0 {
		s["addresses"] = hv.addrs
	}
	if len(hv.closed) > 0 {
		s["closed"] = hv.closed
	}
	if hv.dropped != nil {
		s["closed_dropped"] = hv.dropped
	}
	return s, true
}

// stats returns host's merged stats, with processes and sockets taken from
// the state ("hb").
func (r *reader) stats(host string) obj {
	r.mu.Lock()
	defer r.mu.Unlock()
	hv := r.hosts[host]
	if hv == nil {
		return nil
	}
	out := obj{}
	for k, v := range hv.stats {
		out[k] = v
	}
	out["processes"], out["sockets"] = json.Number(strconv.Itoa(len(hv.procs))), json.Number(strconv.Itoa(len(hv.socks)))
	return out
}
