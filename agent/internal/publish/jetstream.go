package publish

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/proctag/proctag/agent/snapshot"
)

// jetStream keeps each host's last full snapshot and the deltas after it in
// the stream snapshot.StreamName(prefix), whose subjects are every host's
// .snapshot and .delta subjects (heartbeats are not kept). After a full
// snapshot is stored, everything of the host before it is purged, so a late
// subscriber replaying the stream gets exactly: last full, deltas after it.
// The stream is bounded (StreamLimits); the agent creates it or tightens
// it, never widens it, and raises its replica count, never lowers it.
type jetStream struct {
	nc         *nats.Conn
	js         jetstream.JetStream
	cfg        Config
	logger     hclog.Logger
	stream     jetstream.Stream
	failed     bool // a failure was logged; log again only after a success
	keptLogged bool // the operator's tighter limits were logged
	// msgSize is the stream's limit on one message as last seen, kept
	// while the stream is looked up again after a failure, so that chunks
	// stay cut to what the stream takes.
	msgSize int
}

func newJetStream(nc *nats.Conn, cfg Config, logger hclog.Logger) *jetStream {
	return &jetStream{nc: nc, cfg: cfg, logger: logger}
}

// usable reports whether the stream was found or made and the last full
// snapshot stored: deltas are then published with an acknowledgement.
func (j *jetStream) usable() bool { return j.stream != nil && j.js != nil && !j.failed }

// StreamConfig is the stream a publisher creates for prefix, bounded by
// limits (a zero field leaves that limit unset) and held by limits.Replicas
// servers (at least 1).
func StreamConfig(prefix string, limits StreamLimits) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        snapshot.StreamName(prefix),
		Description: "proctag: per host, the last full snapshot and the deltas after it",
		Subjects: []string{
			snapshot.Subject(prefix, "*", snapshot.KindSnapshot),
			snapshot.Subject(prefix, "*", snapshot.KindDelta),
		},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		Discard:           jetstream.DiscardOld,
		MaxAge:            limits.MaxAge,
		MaxBytes:          limits.MaxBytes,
		MaxMsgSize:        int32(min(limits.MaxMsgSizeBytes, math.MaxInt32)),
		MaxMsgsPerSubject: limits.MaxMsgsPerSubject,
		Replicas:          max(limits.Replicas, 1),
	}
}

// ensure looks the stream up, creating it when it does not exist and
// tightening it when its limits are wider than the configured ones or
// raising its replica count when it is lower. Limits an operator set
// tighter, and a higher replica count, are kept (and logged once); the
// agent never widens or lowers them. When the update is refused (an agent
// whose permissions allow no stream changes, a cluster with fewer servers
// than the replicas asked), the stream is used as it is.
func (j *jetStream) ensure(ctx context.Context) error {
	if j.stream != nil {
		return nil
	}
	if j.js == nil {
		js, err := jetstream.New(j.nc)
		if err != nil {
			return err
		}
		j.js = js
	}
	want := StreamConfig(j.cfg.SubjectPrefix, j.cfg.StreamLimits)
	stream, err := j.js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = j.js.CreateStream(ctx, want)
		if err == nil {
			j.stream = stream
			return nil
		}
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another agent was faster
			stream, err = j.js.Stream(ctx, want.Name)
		}
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", want.Name, err)
	}
	have := stream.CachedInfo().Config
	merged, kept := tighten(have, want)
	if len(kept) > 0 && !j.keptLogged {
		j.logger.Info("jetstream stream has tighter limits than the config, keeping them", "stream", want.Name, "limits", strings.Join(kept, ", "))
		j.keptLogged = true
	}
	if !reflect.DeepEqual(merged, have) {
		updated, err := j.js.UpdateStream(ctx, merged)
		if err != nil {
			j.logger.Warn("cannot tighten the jetstream stream, using it as it is", "stream", want.Name, "error", err)
		} else {
			stream = updated
			if merged.Replicas > max(have.Replicas, 1) {
				if err := waitLeader(ctx, stream); err != nil {
					j.logger.Warn("jetstream stream not ready after raising its replicas", "stream", want.Name, "replicas", merged.Replicas, "error", err)
				}
			}
		}
	}
	j.stream = stream
	return nil
}

// leaderPoll is how often waitLeader looks at the stream's state: nothing
// announces a new leader to a client.
const leaderPoll = 20 * time.Millisecond

// waitLeader waits until the stream has a leader and a quorum of current
// replicas, or ctx ends. After its replica count is raised, a stream
// elects a new group, and what is published meanwhile is dropped without
// an answer: a store would wait for its whole timeout (jsTimeout).
func waitLeader(ctx context.Context, s jetstream.Stream) error {
	tick := time.NewTicker(leaderPoll)
	defer tick.Stop()
	for {
		info, err := s.Info(ctx)
		if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
			current := 1 // the leader
			for _, r := range info.Cluster.Replicas {
				if r.Current {
					current++
				}
			}
			if current > info.Config.Replicas/2 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = context.Cause(ctx)
			}
			return err
		case <-tick.C:
		}
	}
}

// tighten returns have with each limit lowered to want's where want's is
// tighter, the replica count raised to want's where want's is higher, and
// want's subjects added; kept names the limits where have is already
// tighter and a higher replica count. A limit of 0 or less is unlimited; a
// replica count of 0 or less is 1.
func tighten(have, want jetstream.StreamConfig) (jetstream.StreamConfig, []string) {
	merged := have
	merged.Subjects = slices.Clone(have.Subjects)
	for _, s := range want.Subjects {
		if !slices.Contains(merged.Subjects, s) {
			merged.Subjects = append(merged.Subjects, s)
		}
	}
	var kept []string
	limit := func(name string, have, want int64) int64 {
		switch {
		case have <= 0:
			return want
		case want <= 0 || have < want:
			kept = append(kept, fmt.Sprintf("%s=%d", name, have))
			return have
		}
		return want
	}
	merged.MaxBytes = limit("max_bytes", have.MaxBytes, want.MaxBytes)
	merged.MaxMsgSize = int32(limit("max_msg_size", int64(have.MaxMsgSize), int64(want.MaxMsgSize)))
	merged.MaxMsgsPerSubject = limit("max_msgs_per_subject", have.MaxMsgsPerSubject, want.MaxMsgsPerSubject)
	merged.MaxAge = time.Duration(limit("max_age", int64(have.MaxAge), int64(want.MaxAge)))
	switch haveR := max(have.Replicas, 1); {
	case want.Replicas > haveR:
		merged.Replicas = want.Replicas
	case want.Replicas > 0 && haveR > want.Replicas:
		kept = append(kept, fmt.Sprintf("replicas=%d", haveR))
	}
	return merged, kept
}

// maxMsgSize is the stream's limit on one message (headers plus data), 0
// when unknown or unlimited. After a failure it does not look the stream up
// again (publishFull does, once per full snapshot), so that a missing
// stream costs one lookup per full snapshot, not two: it gives the limit
// it last saw. ctx is the
// connection's (link); the lookup is bounded by jsTimeout.
func (j *jetStream) maxMsgSize(ctx context.Context) int {
	if j.stream == nil && !j.failed {
		ctx, cancel := context.WithTimeout(ctx, jsTimeout)
		defer cancel()
		if err := j.ensure(ctx); err != nil {
			j.fail(err)
		}
	}
	if j.stream != nil {
		j.msgSize = int(max(j.stream.CachedInfo().Config.MaxMsgSize, 0))
	}
	return j.msgSize
}

// jsTimeout bounds each JetStream exchange of a full snapshot (the stream
// lookup; the store and purge together).
const jsTimeout = 10 * time.Second

// publishFull stores a full snapshot's chunks and purges the host's older
// messages. It reports whether all chunks were stored; on false the caller
// publishes on core NATS instead. ctx is the connection's (link): losing
// the connection ends the exchange at once; it is bounded by jsTimeout.
func (j *jetStream) publishFull(ctx context.Context, out outgoing, hostID string) bool {
	ctx, cancel := context.WithTimeout(ctx, jsTimeout)
	defer cancel()
	first, err := j.store(ctx, out)
	if err != nil {
		j.stream = nil // look the stream up again next time
		j.fail(err)
		return false
	}
	filter := snapshot.SubscribeSubject(j.cfg.SubjectPrefix, hostID)
	if err := j.stream.Purge(ctx, jetstream.WithPurgeSubject(filter), jetstream.WithPurgeSequence(first)); err != nil {
		j.fail(fmt.Errorf("purge %s before %d: %w", filter, first, err))
		return true // stored; older messages stay until the next purge or the limits drop them
	}
	if j.failed {
		j.logger.Info("jetstream publish works again")
		j.failed = false
	}
	return true
}

// store publishes the chunks, the first with an acknowledgement whose
// stream sequence it returns, and flushes.
func (j *jetStream) store(ctx context.Context, out outgoing) (uint64, error) {
	if err := j.ensure(ctx); err != nil {
		return 0, err
	}
	var first uint64
	sent := 0
	err := out.each(func(msg *snapshot.Message) error {
		m := &nats.Msg{Subject: msg.Subject, Header: nats.Header(msg.Header), Data: msg.Data}
		sent++
		if sent == 1 {
			ack, err := j.js.PublishMsg(ctx, m)
			if err != nil {
				return fmt.Errorf("store %s: %w", m.Subject, err)
			}
			first = ack.Sequence
			return nil
		}
		if err := j.nc.PublishMsg(m); err != nil {
			return fmt.Errorf("store %s: %w", m.Subject, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := j.nc.FlushWithContext(ctx); err != nil {
		return 0, fmt.Errorf("flush: %w", err)
	}
	return first, nil
}

func (j *jetStream) fail(err error) {
	if !j.failed {
		j.logger.Warn("jetstream publish failed, using core nats", "error", err)
		j.failed = true
	}
}
