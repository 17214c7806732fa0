package publish

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/proctag/proctag/agent/snapshot"
)

// streamMaxAge bounds how long a host that went away stays in the stream.
const streamMaxAge = 24 * time.Hour

// jetStream keeps each host's last full snapshot and the deltas after it in
// the stream snapshot.StreamName(prefix), whose subjects are every host's
// .snapshot and .delta subjects (heartbeats are not kept). After a full
// snapshot is stored, everything of the host before it is purged, so a late
// subscriber replaying the stream gets exactly: last full, deltas after it.
type jetStream struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	cfg    Config
	logger hclog.Logger
	stream jetstream.Stream
	failed bool // a failure was logged; log again only after a success
}

func newJetStream(nc *nats.Conn, cfg Config, logger hclog.Logger) *jetStream {
	return &jetStream{nc: nc, cfg: cfg, logger: logger}
}

// StreamConfig is the stream a publisher creates or updates for prefix.
func StreamConfig(prefix string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        snapshot.StreamName(prefix),
		Description: "proctag: per host, the last full snapshot and the deltas after it",
		Subjects: []string{
			snapshot.Subject(prefix, "*", snapshot.KindSnapshot),
			snapshot.Subject(prefix, "*", snapshot.KindDelta),
		},
		Retention: jetstream.LimitsPolicy,
		Storage:   jetstream.FileStorage,
		Discard:   jetstream.DiscardOld,
		MaxAge:    streamMaxAge,
	}
}

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
	stream, err := j.js.CreateOrUpdateStream(ctx, StreamConfig(j.cfg.SubjectPrefix))
	if err != nil {
		return fmt.Errorf("create stream %s: %w", snapshot.StreamName(j.cfg.SubjectPrefix), err)
	}
	j.stream = stream
	return nil
}

// publishFull stores a full snapshot's chunks and purges the host's older
// messages. It reports whether all chunks were stored; on false the caller
// publishes on core NATS instead.
func (j *jetStream) publishFull(ctx context.Context, msgs []snapshot.Message, hostID string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	first, err := j.store(ctx, msgs)
	if err != nil {
		j.stream = nil // look the stream up again next time
		j.fail(err)
		return false
	}
	filter := snapshot.SubscribeSubject(j.cfg.SubjectPrefix, hostID)
	if err := j.stream.Purge(ctx, jetstream.WithPurgeSubject(filter), jetstream.WithPurgeSequence(first)); err != nil {
		j.fail(fmt.Errorf("purge %s before %d: %w", filter, first, err))
		return true // stored; older messages stay until the next purge or MaxAge
	}
	if j.failed {
		j.logger.Info("jetstream publish works again")
		j.failed = false
	}
	return true
}

// store publishes the chunks, the first with an acknowledgement whose
// stream sequence it returns, and flushes.
func (j *jetStream) store(ctx context.Context, msgs []snapshot.Message) (uint64, error) {
	if err := j.ensure(ctx); err != nil {
		return 0, err
	}
	var first uint64
	for i := range msgs {
		m := &nats.Msg{Subject: msgs[i].Subject, Header: nats.Header(msgs[i].Header), Data: msgs[i].Data}
		if i == 0 {
			ack, err := j.js.PublishMsg(ctx, m)
			if err != nil {
				return 0, fmt.Errorf("store %s: %w", m.Subject, err)
			}
			first = ack.Sequence
			continue
		}
		if err := j.nc.PublishMsg(m); err != nil {
			return 0, fmt.Errorf("store %s: %w", m.Subject, err)
		}
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
