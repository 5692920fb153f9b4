package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
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
	subs []*subscription
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

// Subscribe binds to the durable consumer of topic, provisioning it first. When ctx ends
// (or Close is called) delivery stops: messages already handed out finish, those not yet
// handed out are nacked for redelivery, and then the channel closes.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	// A broker that is restarting, or a connection still reconnecting, is no reason to
	// stop the service: keep trying until it answers or the service stops.
	wait := 100 * time.Millisecond
	for {
		ch, err := s.subscribe(ctx, topic)
		if err == nil || ctx.Err() != nil {
			return ch, err
		}
		s.bus.cfg.Logger.Warn("subscribe failed; retrying", "topic", topic, "error", err.Error(), "in", wait.String())
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (s *Subscriber) subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
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
	}, quietUnsubscribe{s.bus.wmLog})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("subscribe %s: %w", durable, err)
	}
	// watermill-nats closes its output channel as soon as Unsubscribe returns, but
	// nats.go may already have started the callback for one more message, which can then
	// send on the closed channel: a data race, and a "send on closed channel" panic that
	// takes the process down. It would also cancel the context of messages in flight, so
	// a handler stopped mid-transaction would fail instead of finishing. So it never sees
	// ctx; the subscription below stops it only after draining the connection, which
	// returns once every callback has. (If the broker is unreachable at that moment the
	// drain cannot run and the connection is closed outright; the window is back then.)
	in, err := sub.Subscribe(context.WithoutCancel(ctx), topic)
	if err != nil {
		sub.Close() //nolint:errcheck // already failing
		return nil, fmt.Errorf("subscribe %s: %w", durable, err)
	}
	sn := &subscription{nc: nc, sub: sub, stopping: make(chan struct{}), stopped: make(chan struct{}), done: make(chan struct{})}
	out := make(chan *message.Message)
	go sn.forward(ctx, in, out)
	s.mu.Lock()
	s.subs = append(s.subs, sn)
	s.mu.Unlock()
	return out, nil
}

// Close stops delivery as a cancelled Subscribe context does, and waits for it; the
// durable consumers stay.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	subs := s.subs
	s.subs = nil
	s.mu.Unlock()
	var errs []error
	for _, sn := range subs {
		errs = append(errs, sn.close())
	}
	return errors.Join(errs...)
}

// subscription is one Subscribe call: its own connection, the watermill-nats subscriber
// on it, and the channel handed to the caller, which only this code closes.
type subscription struct {
	nc  *nats.Conn
	sub *wmnats.Subscriber

	once     sync.Once
	stopping chan struct{} // closed when stopping begins
	stopped  chan struct{} // closed when the connection is drained and sub closed
	stopErr  error
	done     chan struct{} // closed with the caller's channel
}

// forward hands messages to the caller until ctx ends or stop is called, then nacks the
// rest while the connection drains.
func (sn *subscription) forward(ctx context.Context, in <-chan *message.Message, out chan<- *message.Message) {
	defer close(sn.done)
	defer close(out)
	for sn.handOver(ctx, in, out) {
	}
	sn.stop()
	for msg := range in {
		msg.Nack() // not handed out: redelivered, to this service's next instance
	}
}

// handOver passes one message on, reporting false when delivery must stop.
func (sn *subscription) handOver(ctx context.Context, in <-chan *message.Message, out chan<- *message.Message) bool {
	select {
	case msg, ok := <-in:
		if !ok {
			return false
		}
		select {
		case out <- msg:
			return true
		case <-ctx.Done():
		case <-sn.stopping:
		}
		msg.Nack()
		return false
	case <-ctx.Done():
		return false
	case <-sn.stopping:
		return false
	}
}

// stop begins stopping once: drain the connection (nats.go unsubscribes, then waits for
// every callback, i.e. for each message handed out to be acked or nacked or to time out),
// and only then close the watermill-nats subscriber, whose channel forward is emptying.
func (sn *subscription) stop() {
	sn.once.Do(func() {
		close(sn.stopping)
		go func() {
			defer close(sn.stopped)
			if err := sn.nc.Drain(); err != nil {
				sn.nc.Close()
			}
			// Drain has its own timeout, after which it closes the connection anyway.
			for !sn.nc.IsClosed() {
				time.Sleep(10 * time.Millisecond)
			}
			// Its own drain of the connection we already closed is the only error left.
			if err := sn.sub.Close(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				sn.stopErr = err
			}
		}()
	})
}

func (sn *subscription) close() error {
	sn.stop()
	<-sn.stopped
	<-sn.done
	return sn.stopErr
}

// quietUnsubscribe keeps watermill-nats from logging an error at every orderly stop: it
// unsubscribes after our drain has already closed the subscription and its connection.
type quietUnsubscribe struct{ watermill.LoggerAdapter }

func (q quietUnsubscribe) Error(msg string, err error, fields watermill.LogFields) {
	if msg == "Cannot unsubscribe" && (errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription)) {
		q.Debug(msg+": "+err.Error(), fields)
		return
	}
	q.LoggerAdapter.Error(msg, err, fields)
}

func (q quietUnsubscribe) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return quietUnsubscribe{q.LoggerAdapter.With(fields)}
}
