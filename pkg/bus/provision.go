package bus

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Provision creates or updates this node's event stream and dead-letter stream. Streams are
// ours to shape, never the library's: AutoProvision is off everywhere.
func (b *Bus) Provision() error {
	nc, err := b.connect("copnet-provision")
	if err != nil {
		return fmt.Errorf("provision: connect: %w", err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	if err := EnsureStream(js, b.StreamConfig()); err != nil {
		return err
	}
	if err := EnsureStream(js, b.PrivateStreamConfig()); err != nil {
		return err
	}
	return EnsureStream(js, b.DeadLetterStreamConfig())
}

// StreamConfig is the node's own event stream: Limits retention, so that events stay for
// a parent to source after an outage, and a duplicate window for Nats-Msg-Id.
func (b *Bus) StreamConfig() *nats.StreamConfig {
	return &nats.StreamConfig{
		Name:        b.cfg.Stream,
		Subjects:    []string{"cop." + b.cfg.NodeID + ".>"},
		Retention:   nats.LimitsPolicy,
		Storage:     nats.FileStorage,
		Discard:     nats.DiscardOld,
		MaxAge:      b.cfg.MaxAge,
		Duplicates:  2 * time.Minute,
		AllowDirect: true,
	}
}

// DeadLetterStreamConfig keeps failed events far longer than the origin stream, since an
// operator may only look at them after a holiday.
func (b *Bus) DeadLetterStreamConfig() *nats.StreamConfig {
	return &nats.StreamConfig{
		Name:       b.cfg.DeadLetterStream,
		Subjects:   []string{"deadletter." + b.cfg.NodeID + ".>"},
		Retention:  nats.LimitsPolicy,
		Storage:    nats.FileStorage,
		Discard:    nats.DiscardOld,
		MaxAge:     4 * b.cfg.MaxAge,
		Duplicates: 2 * time.Minute,
	}
}

// EnsureStream creates cfg, or updates an existing stream to it while keeping the sources
// federation added at run time.
func EnsureStream(js nats.JetStreamManager, cfg *nats.StreamConfig) error {
	info, err := js.StreamInfo(cfg.Name)
	switch {
	case errors.Is(err, nats.ErrStreamNotFound):
		if _, err := js.AddStream(cfg); err != nil {
			return fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	want := *cfg
	if len(want.Sources) == 0 {
		want.Sources = info.Config.Sources
	}
	if _, err := js.UpdateStream(&want); err != nil {
		return fmt.Errorf("update stream %s: %w", cfg.Name, err)
	}
	return nil
}

// consumerConfig is the durable push consumer for one handler on one subject filter of
// stream. The deliver group lets several replicas of a service share the work.
func (b *Bus) consumerConfig(stream, durable, filter string) *nats.ConsumerConfig {
	return &nats.ConsumerConfig{
		Durable: durable,
		// Durable names are per stream, deliver subjects are not: without the stream in it,
		// consumers of one name on two streams push into each other's subscriptions. (An
		// existing consumer takes the new subject on its next EnsureConsumer.)
		DeliverSubject: "copnet.deliver." + b.cfg.NodeID + "." + stream + "." + durable,
		DeliverGroup:   durable,
		DeliverPolicy:  nats.DeliverAllPolicy,
		AckPolicy:      nats.AckExplicitPolicy,
		AckWait:        b.cfg.AckWait,
		MaxDeliver:     b.cfg.MaxDeliver,
		BackOff:        b.cfg.Backoff,
		FilterSubject:  filter,
		MaxAckPending:  256,
	}
}

// EnsureConsumer creates or updates a durable consumer. Our code owns its life: no
// subscriber closing ever deletes it, which would replay the whole stream on next start.
func EnsureConsumer(js nats.JetStreamManager, stream string, cfg *nats.ConsumerConfig) error {
	_, err := js.ConsumerInfo(stream, cfg.Durable)
	switch {
	case errors.Is(err, nats.ErrConsumerNotFound):
		if _, err := js.AddConsumer(stream, cfg); err != nil {
			return fmt.Errorf("create consumer %s on %s: %w", cfg.Durable, stream, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	if _, err := js.UpdateConsumer(stream, cfg); err != nil {
		return fmt.Errorf("update consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	return nil
}
