package snapshot

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"time"
)

// The rules in this file decide what a subscriber believes when anyone on
// the bus may publish under the prefix (WIRE.md, "Trust"): a host's state
// moves only by a snapshot or by a delta on its exact base, within a window
// of seqs, in the followed epoch or a newer one; and the agent's own answer
// to a control request (Confirm) overrules what the bus said.

const (
	// maxRetiredEpochs bounds the earlier epochs remembered per host.
	maxRetiredEpochs = 8
	// recentDigests is how many applied states per host keep a digest, to
	// tell a duplicate from a different message with the same seq.
	recentDigests = 8
	// confirmSlack is how far a held state may be ahead of the seq the agent
	// gave in its answer: states it published between answering and the
	// answer being read.
	confirmSlack = 2
)

// epochMark is what was seen of one epoch of a host: its highest seq and
// latest scan time.
type epochMark struct {
	epoch string
	seq   uint64
	scan  time.Time
}

// newer reports whether env goes beyond what was seen of its epoch: a
// higher seq or a later scan, i.e. the epoch's agent is still publishing.
func (m *epochMark) newer(env *Envelope) bool {
	return env.Seq > m.seq || env.ScanTime.After(m.scan)
}

// advance records env as seen.
func (m *epochMark) advance(env *Envelope) {
	m.seq = max(m.seq, env.Seq)
	if env.ScanTime.After(m.scan) {
		m.scan = env.ScanTime
	}
}

// anchor is the host's agent's last answer to a control request.
type anchor struct {
	epoch string
	seq   uint64
}

// digest identifies the body of one applied state message.
type digest struct {
	seq, sum uint64
}

// epochVerdict is what the epoch rules make of a complete message.
type epochVerdict struct {
	// adopt: a snapshot of this epoch replaces the followed epoch.
	adopt bool
	// join: nothing was followed yet; the message starts its epoch.
	join bool
	// reason, when set, keeps the state and asks for a resync; refused
	// marks it as a refusal (counted in HostInfo.Refused).
	reason  string
	refused bool
}

// judgeEpoch applies the epoch rules to a complete message of hs.
func (a *Assembler) judgeEpoch(hs *hostState, env *Envelope) epochVerdict {
	followed := hs.info.Epoch
	switch {
	case env.Epoch == followed:
		return epochVerdict{}
	case followed == "":
		return epochVerdict{adopt: true, join: true}
	}
	if i := hs.retiredIndex(env.Epoch); i >= 0 {
		// Feed dropped the retired epoch's old messages: this one is new, so
		// that run still publishes, which a run that was superseded by a
		// restart does not do. Let the agent say which run is real.
		hs.retired[i].advance(env)
		return epochVerdict{reason: "retired epoch still publishing", refused: true}
	}
	if CompareEpochs(env.Epoch, followed) < 0 {
		return epochVerdict{reason: "older epoch", refused: true}
	}
	if hs.info.Suspect && env.Epoch != hs.anchor.epoch {
		return epochVerdict{reason: "unconfirmed new epoch", refused: true}
	}
	if env.Kind != KindSnapshot {
		return epochVerdict{reason: "new epoch"}
	}
	return epochVerdict{adopt: true}
}

// judgeSeq applies the seq rules to a snapshot or delta of the followed
// epoch. done is true when the message must go no further: a duplicate or
// replay (nil Change) or a refusal (a Change asking for a resync).
func (a *Assembler) judgeSeq(hs *hostState, env Envelope, sum uint64) (c *Change, done bool) {
	held := hs.info.Seq
	// A snapshot at or below the held seq is a replay while in sync; out of
	// sync it may be adopted when within the window (below).
	if env.Seq <= held && (hs.info.Synced || env.Kind == KindDelta) {
		if got, ok := hs.digestOf(env.Seq); ok {
			if got == sum {
				return nil, true // a duplicate
			}
			// Two different messages claim one state: one of them is not
			// the agent's, and the held state may rest on it.
			hs.info.Synced = false
			return a.refuse(hs, env, "conflicting message"), true
		}
		if env.Seq+a.cfg.SeqWindow < held {
			return a.refuse(hs, env, "seq behind"), true
		}
		return nil, true // a replay of a state that was skipped
	}
	if env.Seq+a.cfg.SeqWindow < held {
		// Out of sync, a snapshot far below the held state is an old one
		// replayed, as in sync: the agent's repair is newer, and an agent
		// that is behind the held state says so (Confirm lowers it).
		return a.refuse(hs, env, "seq behind"), true
	}
	if env.Seq > satAdd(hs.top(), a.cfg.SeqWindow) {
		return a.refuse(hs, env, "seq far ahead"), true
	}
	return nil, false
}

// top is the highest seq the assembler knows for the followed epoch: the
// held state's, or the one the agent confirmed.
func (hs *hostState) top() uint64 {
	if hs.anchor.epoch == hs.info.Epoch {
		return max(hs.info.Seq, hs.anchor.seq)
	}
	return hs.info.Seq
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

// digest hashes what makes a state message itself: kind, base and the
// decoded body.
func (a *Assembler) digest(env *Envelope, body []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(a.seed)
	_, _ = h.WriteString(string(env.Kind))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], env.BaseSeq)
	_, _ = h.Write(b[:])
	_, _ = h.Write(body)
	return h.Sum64()
}

func (hs *hostState) remember(seq, sum uint64) {
	hs.recent[seq%recentDigests] = digest{seq: seq, sum: sum}
}

func (hs *hostState) digestOf(seq uint64) (uint64, bool) {
	d := hs.recent[seq%recentDigests]
	return d.sum, d.seq == seq && seq != 0
}

func (hs *hostState) retiredIndex(epoch string) int {
	return slices.IndexFunc(hs.retired, func(m epochMark) bool { return m.epoch == epoch })
}

// switchEpoch starts following epoch: the one followed so far is retired
// (its old messages are ignored from now on), the state is stale until a
// snapshot of the new epoch.
func (hs *hostState) switchEpoch(epoch string) {
	if hs.info.Epoch != "" {
		hs.retired = append(hs.retired, hs.mark)
		if len(hs.retired) > maxRetiredEpochs {
			hs.retired = hs.retired[1:]
		}
	}
	if i := hs.retiredIndex(epoch); i >= 0 {
		hs.retired = slices.Delete(hs.retired, i, i+1)
	}
	hs.info.Epoch, hs.info.Seq, hs.info.Synced = epoch, 0, false
	hs.mark = epochMark{epoch: epoch}
	hs.recent = [recentDigests]digest{}
	hs.clearFuture()
	for k := range hs.pending {
		if k.epoch != epoch {
			hs.dropPending(k)
		}
	}
}

// Confirm records what host's agent answered to a control request (the
// ControlReply's Epoch and Seq; seq 0 means unknown) and checks the
// assembler's view of the host against it. The agent's word wins:
//   - a followed epoch newer than the agent's is not the agent's: it is
//     retired, the agent's epoch followed again, and the host marked
//     Suspect (its new epochs then need the agent's confirmation);
//   - a held state more than 2 seqs ahead of the agent's seq was never
//     published by it: the host is marked out of sync and Suspect;
//   - an agent epoch newer than the followed one means a restart: it is
//     followed at once;
//   - the agent's seq widens the window of believable seqs (SeqWindow), so
//     the full snapshot it sends after a long gap is adopted.
//
// The returned Change, when not nil, asks for a resync; the resync the
// caller just requested serves it. Errors are for an invalid host or epoch.
// Only a subscriber whose requests reach the real agent should call it:
// with the recommended permissions (WIRE.md, "Trust") no one else can
// answer on the agent's control subject.
func (a *Assembler) Confirm(host, epoch string, seq uint64) (*Change, error) {
	if !ValidToken(host) {
		return nil, fmt.Errorf("confirm: host id %q is not a NATS subject token", host)
	}
	if !ValidEpoch(epoch) {
		return nil, fmt.Errorf("confirm host %s: %w: epoch %q is not 16 hex digits, '-', 8 hex digits", host, ErrMalformed, epoch)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	hs, err := a.host(host)
	if err != nil {
		return nil, fmt.Errorf("confirm: %w", err)
	}
	hs.anchor = anchor{epoch: epoch, seq: seq}
	env := Envelope{HostID: host, Epoch: epoch}
	followed := hs.info.Epoch
	switch {
	case followed == "":
		hs.switchEpoch(epoch)
		hs.info.Seq = seq
		return nil, nil
	case followed == epoch:
		if seq == 0 || hs.info.Seq <= seq+confirmSlack {
			return nil, nil
		}
		hs.info.Seq, hs.info.Synced, hs.info.Suspect = seq, false, true
		hs.recent = [recentDigests]digest{}
		hs.clearFuture()
		return a.refuse(hs, env, "state ahead of the agent"), nil
	case CompareEpochs(epoch, followed) > 0:
		hs.switchEpoch(epoch)
		hs.info.Seq = seq
		return a.resync(hs, env, "new epoch"), nil
	default:
		hs.switchEpoch(epoch)
		hs.info.Seq, hs.info.Suspect = seq, true
		return a.refuse(hs, env, "epoch not confirmed by the agent"), nil
	}
}
