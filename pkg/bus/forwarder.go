package bus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
)

// The outbox's tables are watermill-sql's (Outbox.Publish writes them through watermill's
// SQL publisher and forwarder envelope); the forwarder reads them with the same queries.
var (
	outboxSchema  = wmsql.DefaultPostgreSQLSchema{SubscribeBatchSize: forwardBatch}
	outboxOffsets = wmsql.DefaultPostgreSQLOffsetsAdapter{}
)

// forwardBatch is how many outbox rows the forwarder moves per round trip: published to
// JetStream together, acknowledged together, marked forwarded in one statement.
const forwardBatch = 256

// forwardAckWait bounds the wait for JetStream's acknowledgements of one batch; a batch
// not acknowledged in time is sent again (Nats-Msg-Id makes the broker store it once).
const forwardAckWait = 10 * time.Second

// RunForwarder moves committed outbox rows of pool's schema to JetStream until ctx ends.
// A broker outage only delays it: a row counts as forwarded once JetStream has stored it.
//
// Why not watermill's forwarder component: its SQL subscriber hands over one message at a
// time and waits for it to be acknowledged, so every event cost a synchronous, fsync'd
// publish round trip. Here a whole batch is published asynchronously and its
// acknowledgements awaited together, then the batch's position is stored in the same
// offsets table in one statement. Exactly-once in effect is kept as before: a batch sent
// again after a crash or timeout carries the same Nats-Msg-Id per event (the broker's
// dedupe window drops the copies) and consumers are idempotent.
func (b *Bus) RunForwarder(ctx context.Context, name string, pool *pgxpool.Pool) error {
	b.WatchOutbox(name, pool)
	defer b.unwatchOutbox(name, pool)
	wake := make(chan struct{}, 1)
	go b.listenForCommits(ctx, pool, notifyPrefix+name, wake)
	nc, err := b.connect("copnet-forwarder-" + name)
	if err != nil {
		return fmt.Errorf("forwarder %s: connect: %w", name, err)
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(forwardBatch))
	if err != nil {
		return fmt.Errorf("forwarder %s: %w", name, err)
	}
	f := &outboxForwarder{bus: b, name: name, db: wmsql.BeginnerFromPgx(pool), js: js}
	return f.run(ctx, wake)
}

type outboxForwarder struct {
	bus  *Bus
	name string
	db   wmsql.Beginner
	js   nats.JetStreamContext
	// started is set once the forwarded position's row exists: the outbox query locks it
	// (FOR UPDATE, so that two forwarders of one schema never send the same rows at once)
	// and finds nothing without it.
	started bool
}

// run forwards batches while there are rows, and otherwise waits for a commit's
// notification (or OutboxPoll, the safety net for a missed one).
//
// The outbox query reads only rows of transactions older than the oldest one still running
// in the cluster (so that no row is skipped for good), which can keep a notified row
// unreadable for a moment while some other transaction runs: after a wake-up that found
// nothing it keeps looking, backing off from 5 ms to 100 ms, for up to OutboxPoll.
func (f *outboxForwarder) run(ctx context.Context, wake <-chan struct{}) error {
	idle := f.bus.cfg.OutboxPoll
	var eager time.Time // keep looking until then after a wake-up
	delay := 5 * time.Millisecond
	failures := 0
	for {
		n, err := f.forward(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var pause time.Duration
		switch {
		case err != nil:
			failures++
			if failures == 1 || failures%20 == 0 {
				f.bus.cfg.Logger.Warn("outbox: forwarding failed; retrying", "service", f.name, "failures", failures, "error", err)
			}
			pause = min(time.Duration(failures)*250*time.Millisecond, 2*time.Second)
		case n > 0:
			failures, eager, delay = 0, time.Now().Add(idle), 5*time.Millisecond
			continue
		case time.Now().Before(eager):
			pause, delay = delay, min(2*delay, 100*time.Millisecond)
		default:
			t := time.NewTimer(idle)
			select {
			case <-wake:
				eager, delay = time.Now().Add(idle), 5*time.Millisecond
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
			continue
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// envelope is watermill's forwarder envelope, as Outbox.Publish writes it into each row.
type envelope struct {
	DestinationTopic string            `json:"destination_topic"`
	UUID             string            `json:"uuid"`
	Payload          []byte            `json:"payload"`
	Metadata         map[string]string `json:"metadata"`
}

// forward moves one batch and returns how many rows it marked forwarded. Rows up to the
// first one JetStream did not acknowledge are marked; the rest are sent again next time.
func (f *outboxForwarder) forward(ctx context.Context) (n int, err error) {
	if !f.started {
		if err := f.start(ctx); err != nil {
			return 0, err
		}
		f.started = true
	}
	tx, err := f.db.BeginTx(ctx, &sql.TxOptions{Isolation: outboxSchema.SubscribeIsolationLevel()})
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil || n == 0 {
			_ = tx.Rollback()
		}
	}()
	batch, err := f.read(ctx, tx)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	futures := make([]nats.PubAckFuture, 0, len(batch))
	var sendErr error
	for _, row := range batch {
		msg, err := natsMessage(row)
		if err != nil {
			// Only Outbox.Publish writes these rows: one that cannot be read is a defect to
			// look at, never an event to drop silently. It stops the outbox here.
			sendErr = fmt.Errorf("outbox row %d: %w", row.Offset, err)
			break
		}
		fut, err := f.js.PublishMsgAsync(msg)
		if err != nil {
			sendErr = fmt.Errorf("publish: %w", err)
			break
		}
		futures = append(futures, fut)
	}
	acked := f.await(ctx, futures)
	if acked < len(futures) && sendErr == nil {
		sendErr = fmt.Errorf("JetStream acknowledged %d of %d events", acked, len(futures))
	}
	if acked == 0 {
		return 0, sendErr
	}
	q, err := outboxOffsets.AckMessageQuery(wmsql.AckMessageQueryParams{Topic: outboxTopic,
		LastRow: batch[acked-1], Rows: batch[:acked], ConsumerGroup: ""})
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, q.Query, q.Args...); err != nil {
		return 0, fmt.Errorf("mark forwarded: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("mark forwarded: %w", err)
	}
	return acked, sendErr
}

// start writes the forwarded position's first row (offset 0) unless it exists.
func (f *outboxForwarder) start(ctx context.Context) error {
	qs, err := outboxOffsets.BeforeSubscribingQueries(wmsql.BeforeSubscribingQueriesParams{Topic: outboxTopic, ConsumerGroup: ""})
	if err != nil {
		return err
	}
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	for _, q := range qs {
		if _, err := tx.ExecContext(ctx, q.Query, q.Args...); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("outbox position: %w", err)
		}
	}
	return tx.Commit()
}

// read returns the next batch of committed rows after the forwarded position.
func (f *outboxForwarder) read(ctx context.Context, tx wmsql.Tx) ([]wmsql.Row, error) {
	q, err := outboxSchema.SelectQuery(wmsql.SelectQueryParams{Topic: outboxTopic, ConsumerGroup: "", OffsetsAdapter: outboxOffsets})
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, q.Query, q.Args...)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var batch []wmsql.Row
	for rows.Next() {
		row, err := outboxSchema.UnmarshalMessage(wmsql.UnmarshalMessageParams{Row: rows})
		if err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		batch = append(batch, row)
	}
	// The pgx adapter's rows end early on an error that only Err reports.
	if r, ok := rows.(interface{ Err() error }); ok && r.Err() != nil {
		return nil, fmt.Errorf("read outbox: %w", r.Err())
	}
	return batch, nil
}

// await waits for the acknowledgements in publish order and returns how many in a row,
// from the first, JetStream stored.
func (f *outboxForwarder) await(ctx context.Context, futures []nats.PubAckFuture) int {
	timeout := time.NewTimer(forwardAckWait)
	defer timeout.Stop()
	for i, fut := range futures {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			f.bus.cfg.Logger.Debug("outbox: event not stored", "service", f.name, "error", err)
			return i
		case <-timeout.C:
			return i
		case <-ctx.Done():
			return i
		}
	}
	return len(futures)
}

// natsMessage unwraps a row into the message watermill's JetStream publisher would have
// sent: the event's subject, its metadata as headers, the watermill UUID header, and
// Nats-Msg-Id (the event id) for the broker's dedupe.
func natsMessage(row wmsql.Row) (*nats.Msg, error) {
	var env envelope
	if err := json.Unmarshal(row.Payload, &env); err != nil {
		return nil, fmt.Errorf("forwarder envelope: %w", err)
	}
	if env.DestinationTopic == "" || env.UUID == "" {
		return nil, errors.New("forwarder envelope without subject or event id")
	}
	msg := nats.NewMsg(env.DestinationTopic)
	msg.Data = env.Payload
	for k, v := range env.Metadata {
		msg.Header.Set(k, v)
	}
	msg.Header.Set(wmnats.WatermillUUIDHdr, env.UUID)
	msg.Header.Set(nats.MsgIdHdr, env.UUID)
	return msg, nil
}
