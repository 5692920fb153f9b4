package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// The node-private channel carries what must never leave the node, such as the contact
// details membership shares with notify. It is a stream of its own: a parent node sources
// only the node's event stream (Config.Stream), never this one, and the events on that
// stream keep carrying ids only.
//
// Each subject holds its latest message only (MaxMsgsPerSubject 1), so a message that
// replaces a person's details (their erasure) leaves nothing of the earlier ones on the
// stream.

// PrivateStreamName is the node-private stream's name.
func (b *Bus) PrivateStreamName() string { return b.cfg.Stream + "_PRIVATE" }

// PrivateSubject is the subject of a private message: private.<node>.<parts...>.
func (b *Bus) PrivateSubject(parts ...string) string {
	s := "private." + b.cfg.NodeID
	for _, p := range parts {
		s += "." + p
	}
	return s
}

// PrivateStreamConfig is the node-private stream.
func (b *Bus) PrivateStreamConfig() *nats.StreamConfig {
	return &nats.StreamConfig{
		Name:              b.PrivateStreamName(),
		Subjects:          []string{"private." + b.cfg.NodeID + ".>"},
		Retention:         nats.LimitsPolicy,
		Storage:           nats.FileStorage,
		Discard:           nats.DiscardOld,
		MaxMsgsPerSubject: 1,
		Duplicates:        2 * time.Minute,
	}
}

// PublishPrivate publishes data on the private subject and waits for the stream to store
// it. msgID, when set, drops a duplicate within the stream's duplicate window.
func (b *Bus) PublishPrivate(nc *nats.Conn, subject string, data []byte, msgID string) error {
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	var opts []nats.PubOpt
	if msgID != "" {
		opts = append(opts, nats.MsgId(msgID))
	}
	if _, err := js.Publish(subject, data, opts...); err != nil {
		return fmt.Errorf("private publish: %w", err)
	}
	return nil
}

// ConsumePrivate applies every message on the private subjects matching filter with fn,
// through the durable consumer durable, until ctx ends. A message fn fails is delivered
// again after AckWait.
func (b *Bus) ConsumePrivate(ctx context.Context, durable, filter string, fn func(ctx context.Context, subject string, data []byte) error) error {
	nc, err := b.connect("copnet-private-" + durable)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	if err := EnsureConsumer(js, b.PrivateStreamName(), &nats.ConsumerConfig{
		Durable:       durable,
		DeliverPolicy: nats.DeliverAllPolicy,
		AckPolicy:     nats.AckExplicitPolicy,
		AckWait:       b.cfg.AckWait,
		FilterSubject: filter,
	}); err != nil {
		return err
	}
	sub, err := js.PullSubscribe(filter, durable, nats.Bind(b.PrivateStreamName(), durable))
	if err != nil {
		return fmt.Errorf("private consumer %s: %w", durable, err)
	}
	defer sub.Unsubscribe() //nolint:errcheck // the connection closes next
	for ctx.Err() == nil {
		msgs, err := sub.Fetch(32, nats.MaxWait(time.Second))
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("private consumer %s: %w", durable, err)
		}
		for _, m := range msgs {
			if err := fn(ctx, m.Subject, m.Data); err != nil {
				_ = m.Nak()
				continue
			}
			_ = m.Ack()
		}
	}
	return nil
}
