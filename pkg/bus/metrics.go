package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Backlog is what the bus has not done yet, as an operator watches it: outbox rows a
// forwarder has not moved to JetStream (per service), events each durable consumer has not
// been delivered yet (JetStream's num_pending), and dead letters parked for an operator.
type Backlog struct {
	Outbox      map[string]int64
	Consumers   map[string]uint64
	DeadLetters uint64
}

// outboxBacklogQuery counts the rows after the forwarder's acknowledged position, in the
// order watermill-sql reads them (transaction id, then offset).
const outboxBacklogQuery = `SELECT count(*) FROM "watermill_` + outboxTopic + `" m
	LEFT JOIN "watermill_offsets_` + outboxTopic + `" o ON o.consumer_group = ''
	WHERE o.consumer_group IS NULL OR (m.transaction_id, m."offset") > (o.last_processed_transaction_id, o.offset_acked)`

// WatchOutbox adds a service's outbox to the backlog this bus reports. RunForwarder calls it.
func (b *Bus) WatchOutbox(service string, pool *pgxpool.Pool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.outboxes == nil {
		b.outboxes = map[string]*pgxpool.Pool{}
	}
	b.outboxes[service] = pool
}

func (b *Bus) unwatchOutbox(service string, pool *pgxpool.Pool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.outboxes[service] == pool {
		delete(b.outboxes, service)
	}
}

// Backlog reads the current backlog. Parts it cannot read are left out and reported in the
// error, so one unreachable dependency does not hide the others.
func (b *Bus) Backlog(ctx context.Context) (Backlog, error) {
	b.mu.Lock()
	outboxes := maps.Clone(b.outboxes)
	durables := make([]string, 0, len(b.handlers))
	for d := range b.handlers {
		durables = append(durables, d)
	}
	b.mu.Unlock()
	out := Backlog{Outbox: map[string]int64{}, Consumers: map[string]uint64{}}
	var errs []error
	for service, pool := range outboxes {
		var n int64
		if err := pool.QueryRow(ctx, outboxBacklogQuery).Scan(&n); err != nil {
			errs = append(errs, fmt.Errorf("outbox of %s: %w", service, err))
			continue
		}
		out.Outbox[service] = n
	}
	nc, err := b.deadLetterConn()
	if err != nil {
		return out, errors.Join(append(errs, err)...)
	}
	js, err := nc.JetStream(nats.Context(ctx))
	if err != nil {
		return out, errors.Join(append(errs, err)...)
	}
	for _, d := range durables {
		info, err := js.ConsumerInfo(b.cfg.Stream, d, nats.Context(ctx))
		if err != nil {
			errs = append(errs, fmt.Errorf("consumer %s: %w", d, err))
			continue
		}
		out.Consumers[d] = info.NumPending
	}
	if info, err := js.StreamInfo(b.cfg.DeadLetterStream, nats.Context(ctx)); err != nil {
		errs = append(errs, fmt.Errorf("dead letters: %w", err))
	} else {
		out.DeadLetters = info.State.Msgs
	}
	return out, errors.Join(errs...)
}

// scrapeTimeout bounds one reading of the backlog at a metrics scrape.
const scrapeTimeout = 3 * time.Second

// registerMetrics reports the backlog through the meter at every collection.
func (b *Bus) registerMetrics() error {
	m := b.cfg.Meter
	if m == nil {
		m = otel.GetMeterProvider().Meter("github.com/copnet/copnet/pkg/bus")
	}
	outbox, err1 := m.Int64ObservableGauge("copnet.outbox.backlog",
		metric.WithDescription("Outbox rows committed but not yet forwarded to JetStream, per service."))
	lag, err2 := m.Int64ObservableGauge("copnet.consumer.lag",
		metric.WithDescription("Events in the stream not yet delivered to a durable consumer (JetStream num_pending)."))
	dead, err3 := m.Int64ObservableGauge("copnet.deadletters",
		metric.WithDescription("Events parked in the dead-letter stream, waiting for an operator."))
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
		defer cancel()
		bl, err := b.Backlog(ctx)
		node := attribute.String("node", b.cfg.NodeID)
		for s, n := range bl.Outbox {
			o.ObserveInt64(outbox, n, metric.WithAttributes(node, attribute.String("service", s)))
		}
		for d, n := range bl.Consumers {
			o.ObserveInt64(lag, int64(n), metric.WithAttributes(node, attribute.String("durable", d)))
		}
		if err == nil || bl.DeadLetters > 0 {
			o.ObserveInt64(dead, int64(bl.DeadLetters), metric.WithAttributes(node))
		}
		if err != nil {
			b.cfg.Logger.Debug("metrics: backlog partly unreadable", "error", err)
		}
		return nil
	}, outbox, lag, dead)
	if err != nil {
		return err
	}
	b.closers = append(b.closers, reg.Unregister)
	return nil
}
