package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/propagation"

	"github.com/copnet/copnet/pkg/correlation"
	"github.com/copnet/copnet/pkg/events"
)

// outboxTopic names the SQL table (watermill_outbox, in the service's own schema) the
// forwarder drains.
const outboxTopic = "outbox"

// Outbox writes events into the same pgx transaction as the state change that causes them.
// Nothing reaches the broker unless that transaction commits, and nothing committed is lost:
// the forwarder keeps re-driving it until JetStream has it.
type Outbox struct {
	bus *Bus
}

// Outbox returns the outbox for events published from this node.
func (b *Bus) Outbox() *Outbox { return &Outbox{bus: b} }

// Publish validates each event against its schema and writes it into tx. The caller
// commits tx with its own changes.
func (o *Outbox) Publish(ctx context.Context, tx pgx.Tx, evs ...events.Event) error {
	msgs := make([]*message.Message, 0, len(evs))
	subjects := make([]string, 0, len(evs))
	for _, ev := range evs {
		msg, err := o.bus.NewMessage(ctx, ev)
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
		subjects = append(subjects, ev.EventName().Subject(o.bus.cfg.NodeID))
	}
	pub, err := wmsql.NewPublisher(wmsql.TxFromPgx(tx), wmsql.PublisherConfig{
		SchemaAdapter: wmsql.DefaultPostgreSQLSchema{},
	}, o.bus.wmLog)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	fwd := forwarder.NewPublisher(pub, forwarder.PublisherConfig{ForwarderTopic: outboxTopic})
	for i, msg := range msgs {
		if err := fwd.Publish(subjects[i], msg); err != nil {
			return fmt.Errorf("outbox: write %s: %w", msg.Metadata.Get(events.HeaderType), err)
		}
	}
	// Delivered on commit only, like the rows: wakes the forwarder at once instead of at
	// its next poll.
	if _, err := tx.Exec(ctx, "SELECT pg_notify('"+notifyPrefix+"' || current_schema(), '')"); err != nil {
		return fmt.Errorf("outbox: notify: %w", err)
	}
	return nil
}

// notifyPrefix names the channel on which commits with events wake the forwarder of that
// schema.
const notifyPrefix = "copnet_outbox_"

// NewMessage wraps an event in its envelope: a fresh ULID (also the watermill UUID, hence
// Nats-Msg-Id), this node as source, the trace context and correlation id of ctx.
func (b *Bus) NewMessage(ctx context.Context, ev events.Event) (*message.Message, error) {
	if err := b.schemas.ValidateEvent(ev); err != nil {
		return nil, fmt.Errorf("refusing to publish: %w", err)
	}
	payload, err := events.Marshal(ev)
	if err != nil {
		return nil, err
	}
	env := events.Envelope{
		ID:            events.NewID(),
		Type:          ev.EventName().Type(),
		Source:        b.cfg.NodeID,
		Time:          b.cfg.Now(),
		CorrelationID: correlation.ID(ctx),
	}
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	env.TraceParent = carrier.Get(events.HeaderTraceParent)
	env.TraceState = carrier.Get(events.HeaderTraceState)
	msg := message.NewMessage(env.ID, payload)
	for k, v := range env.Metadata() {
		msg.Metadata.Set(k, v)
	}
	return msg, nil
}

// InitOutbox creates the outbox tables in the service's schema. It must run before the
// first publish inside a transaction: creating tables there would fail the transaction.
func (b *Bus) InitOutbox(pool *pgxpool.Pool) error {
	sub, err := b.outboxSubscriber(pool, nil)
	if err != nil {
		return err
	}
	defer sub.Close()
	if err := sub.SubscribeInitialize(outboxTopic); err != nil {
		return fmt.Errorf("outbox tables: %w", err)
	}
	return nil
}

func (b *Bus) outboxSubscriber(pool *pgxpool.Pool, backoff wmsql.BackoffManager) (*wmsql.Subscriber, error) {
	return wmsql.NewSubscriber(wmsql.BeginnerFromPgx(pool), wmsql.SubscriberConfig{
		SchemaAdapter:  outboxSchema,
		OffsetsAdapter: outboxOffsets,
		PollInterval:   b.cfg.OutboxPoll,
		ResendInterval: 250 * time.Millisecond,
		RetryInterval:  250 * time.Millisecond,
		BackoffManager: backoff,
	}, b.wmLog)
}

// NewPublisher returns a watermill publisher into JetStream with Nats-Msg-Id set to the
// message UUID, so the broker stores a re-driven event once.
func (b *Bus) NewPublisher(name string) (message.Publisher, error) {
	nc, err := b.connect(name)
	if err != nil {
		return nil, fmt.Errorf("publisher %s: connect: %w", name, err)
	}
	pub, err := nats.NewPublisherWithNatsConn(nc, nats.PublisherPublishConfig{
		Marshaler:         &nats.NATSMarshaler{},
		SubjectCalculator: nats.DefaultSubjectCalculator,
		JetStream:         nats.JetStreamConfig{TrackMsgId: true},
	}, b.wmLog)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return pub, nil
}

// listenForCommits holds a connection listening on channel and signals wake for each
// notification, reconnecting while ctx lasts. Losing it only slows the forwarder down to
// its poll.
func (b *Bus) listenForCommits(ctx context.Context, pool *pgxpool.Pool, channel string, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := b.listen(ctx, pool, channel, wake)
		if ctx.Err() != nil {
			return
		}
		b.cfg.Logger.Warn("outbox: commit notifications lost; polling until reconnected", "channel", channel, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (b *Bus) listen(ctx context.Context, pool *pgxpool.Pool, channel string, wake chan<- struct{}) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}
