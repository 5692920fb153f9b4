package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/events"
)

// Metadata keys our unmarshaler adds from JetStream delivery data. Handlers need the subject
// (to check the origin), and the dead-letter stream records the delivery count.
const (
	MetaSubject   = "nats_subject"
	MetaDelivered = "nats_delivered"
	MetaStreamSeq = "nats_stream_seq"
)

// unmarshaler is the NATS marshaler (headers carry the metadata, payload stays raw JSON)
// plus delivery facts from JetStream.
type unmarshaler struct{ wmnats.NATSMarshaler }

func (u *unmarshaler) Unmarshal(m *nats.Msg) (*message.Message, error) {
	msg, err := u.NATSMarshaler.Unmarshal(m)
	if err != nil {
		return nil, err
	}
	if msg.UUID == "" {
		// Published by something other than watermill (another tool, a forged event):
		// the envelope's id is the event's identity anyway.
		msg.UUID = m.Header.Get(events.HeaderID)
	}
	msg.Metadata.Set(MetaSubject, m.Subject)
	if md, err := m.Metadata(); err == nil {
		msg.Metadata.Set(MetaDelivered, strconv.FormatUint(md.NumDelivered, 10))
		msg.Metadata.Set(MetaStreamSeq, strconv.FormatUint(md.Sequence.Stream, 10))
	}
	return msg, nil
}

// Subscriber is a watermill subscriber bound to a durable consumer that our code created:
// SubscribeInitialize (or Subscribe) provisions it, Close leaves it in place.
type Subscriber struct {
	bus     *Bus
	stream  string
	durable func(topic string) string

	mu   sync.Mutex
	subs []*wmnats.Subscriber
}

// NewSubscriber returns a subscriber on stream whose durable consumer for a topic is named
// by durable.
func (b *Bus) NewSubscriber(stream string, durable func(topic string) string) *Subscriber {
	return &Subscriber{bus: b, stream: stream, durable: durable}
}

func (s *Subscriber) js(name string) (*nats.Conn, nats.JetStreamContext, error) {
	nc, err := s.bus.connect(name)
	if err != nil {
		return nil, nil, err
	}
	js, err := nc.JetStream()
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// SubscribeInitialize creates or updates the durable consumer for topic.
func (s *Subscriber) SubscribeInitialize(topic string) error {
	nc, js, err := s.js("copnet-provision-" + s.durable(topic))
	if err != nil {
		return err
	}
	defer nc.Close()
	return EnsureConsumer(js, s.stream, s.bus.consumerConfig(s.stream, s.durable(topic), topic))
}

// Subscribe binds to the durable consumer of topic, provisioning it first.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if err := s.SubscribeInitialize(topic); err != nil {
		return nil, err
	}
	durable := s.durable(topic)
	nc, err := s.bus.connect("copnet-" + durable)
	if err != nil {
		return nil, err
	}
	sub, err := wmnats.NewSubscriberWithNatsConn(nc, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:      &unmarshaler{},
		SubscribersCount: 1,
		AckWaitTimeout:   s.bus.cfg.AckWait,
		CloseTimeout:     s.bus.cfg.AckWait,
		QueueGroupPrefix: durable,
		SubjectCalculator: func(queueGroup, topic string) *wmnats.SubjectDetail {
			return &wmnats.SubjectDetail{Primary: topic, QueueGroup: queueGroup}
		},
		NakDelay: wmnats.NewStaticDelay(s.bus.cfg.Backoff[0]),
		JetStream: wmnats.JetStreamConfig{
			// Bind to the consumer we provisioned: nats.go then never deletes it on
			// unsubscribe, and no subscriber option can reshape it.
			SubscribeOptions:  []nats.SubOpt{nats.Bind(s.stream, durable), nats.ManualAck()},
			DurableCalculator: func(string, string) string { return durable },
			TrackMsgId:        true,
		},
	}, s.bus.wmLog)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("subscribe %s: %w", durable, err)
	}
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		sub.Close() //nolint:errcheck // already failing
		return nil, fmt.Errorf("subscribe %s: %w", durable, err)
	}
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	s.mu.Unlock()
	return ch, nil
}

// Close stops delivery; the durable consumers stay.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, sub := range s.subs {
		errs = append(errs, sub.Close())
	}
	s.subs = nil
	return errors.Join(errs...)
}
