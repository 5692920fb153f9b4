package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// JetStreamBaseline is what the broker itself does with the pipeline's settings: a file
// stream on the node's own server (sync_interval: always), over a loopback client.
type JetStreamBaseline struct {
	Messages         int     `json:"messages"`
	PayloadBytes     int     `json:"payload_bytes"`
	SyncPublishRate  float64 `json:"sync_publish_msgs_per_s"`
	SyncPublish      Latency `json:"sync_publish_latency"`
	AsyncPublishRate float64 `json:"async_publish_msgs_per_s"`
	AsyncPublish     Latency `json:"async_publish_ack_latency"`
	ConsumeRate      float64 `json:"consume_msgs_per_s"`
	PubToConsume     Latency `json:"publish_to_consume_latency"`
}

// PostgresBaseline is transactions per second on the pipeline's PostgreSQL.
type PostgresBaseline struct {
	Transactions int               `json:"transactions_per_level"`
	Levels       []PostgresLevel   `json:"levels"`
	Settings     map[string]string `json:"settings"`
}

// PostgresLevel is one concurrency of one kind of transaction.
type PostgresLevel struct {
	Kind        string  `json:"kind"` // insert | insert_outbox
	Concurrency int     `json:"concurrency"`
	TxPerSecond float64 `json:"tx_per_s"`
	RoundTrip   Latency `json:"commit_round_trip"`
}

func (b PostgresBaseline) rate(kind string, conc int) (PostgresLevel, bool) {
	for _, l := range b.Levels {
		if l.Kind == kind && l.Concurrency == conc {
			return l, true
		}
	}
	return PostgresLevel{}, false
}

func benchJetStream(cfg runConfig, natsURL string) (*JetStreamBaseline, error) {
	nc, js, err := jsConnect(natsURL)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	const stream = "BENCH"
	if _, err := js.AddStream(&nats.StreamConfig{Name: stream, Subjects: []string{"bench.>"}, Storage: nats.FileStorage,
		Retention: nats.LimitsPolicy, Duplicates: 2 * time.Minute}); err != nil {
		return nil, fmt.Errorf("bench stream: %w", err)
	}
	defer js.DeleteStream(stream) //nolint:errcheck // the broker goes away with the run
	n := cfg.jsMessages
	out := &JetStreamBaseline{Messages: n, PayloadBytes: 512}
	payload := make([]byte, out.PayloadBytes)
	deadline := time.Now().Add(cfg.phaseLimit)

	// Synchronous: one publish, one ack, one at a time (what the outbox forwarder does).
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		t := time.Now()
		if _, err := js.Publish("bench.sync", payload, nats.MsgId(fmt.Sprintf("s-%d", i))); err != nil {
			return nil, fmt.Errorf("sync publish: %w", err)
		}
		lat = append(lat, time.Since(t))
	}
	out.SyncPublishRate = round2(float64(len(lat)) / time.Since(start).Seconds())
	out.SyncPublish = summarise(lat)

	// Asynchronous: up to 4096 in flight; latency is publish → ack of each message.
	sent := make([]time.Time, n)
	acked := make([]time.Duration, n)
	futures := make(chan struct {
		i int
		f nats.PubAckFuture
	}, 8192)
	var wg sync.WaitGroup
	var failed atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for p := range futures {
			select {
			case <-p.f.Ok():
				acked[p.i] = time.Since(sent[p.i])
			case <-p.f.Err():
				failed.Add(1)
			}
		}
	}()
	start = time.Now()
	sentN := 0
	for i := 0; i < n && time.Now().Before(deadline.Add(cfg.phaseLimit)); i++ {
		sent[i] = time.Now()
		f, err := js.PublishAsync("bench.async", payload, nats.MsgId(fmt.Sprintf("a-%d", i)))
		for retry := 0; errors.Is(err, nats.ErrTooManyStalledMsgs) && retry < 1000; retry++ {
			// 4096 in flight already: wait for acks, as a producer at the broker's pace does.
			f, err = js.PublishAsync("bench.async", payload, nats.MsgId(fmt.Sprintf("a-%d", i)))
		}
		if err != nil {
			close(futures)
			return nil, fmt.Errorf("async publish: %w", err)
		}
		futures <- struct {
			i int
			f nats.PubAckFuture
		}{i, f}
		sentN++
	}
	close(futures)
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("async publish: acks still missing after 60s")
	}
	wg.Wait()
	out.AsyncPublishRate = round2(float64(sentN) / time.Since(start).Seconds())
	out.AsyncPublish = summarise(acked[:sentN])
	if failed.Load() > 0 {
		return nil, fmt.Errorf("async publish: %d failed", failed.Load())
	}

	// Consume: a durable pull consumer with explicit acks reads the synchronous batch back.
	sub, err := js.PullSubscribe("bench.async", "bench-consume", nats.BindStream(stream), nats.AckExplicit())
	if err != nil {
		return nil, err
	}
	got := 0
	start = time.Now()
	for got < sentN && time.Since(start) < cfg.phaseLimit {
		msgs, err := sub.Fetch(256, nats.MaxWait(2*time.Second))
		if err != nil && err != nats.ErrTimeout {
			return nil, fmt.Errorf("consume: %w", err)
		}
		for _, m := range msgs {
			m.Ack() //nolint:errcheck // counted by the consumer, checked by the rate
		}
		got += len(msgs)
	}
	out.ConsumeRate = round2(float64(got) / time.Since(start).Seconds())
	sub.Unsubscribe() //nolint:errcheck // stream deleted next

	// Publish-to-consume round trip: a push consumer, one message at a time.
	recv := make(chan time.Time, 1)
	psub, err := js.Subscribe("bench.rtt", func(m *nats.Msg) {
		m.Ack() //nolint:errcheck // explicit ack as the services do
		recv <- time.Now()
	}, nats.BindStream(stream), nats.AckExplicit(), nats.DeliverNew())
	if err != nil {
		return nil, err
	}
	defer psub.Unsubscribe() //nolint:errcheck // stream deleted next
	rtt := make([]time.Duration, 0, cfg.rttSamples)
	for i := 0; i < cfg.rttSamples; i++ {
		t := time.Now()
		if _, err := js.Publish("bench.rtt", payload, nats.MsgId(fmt.Sprintf("r-%d", i))); err != nil {
			return nil, err
		}
		select {
		case at := <-recv:
			rtt = append(rtt, at.Sub(t))
		case <-time.After(5 * time.Second):
			return nil, fmt.Errorf("publish-to-consume: message %d not delivered in 5s", i)
		}
	}
	out.PubToConsume = summarise(rtt)
	return out, nil
}

// benchPostgres measures transactions on the same server (and a fresh database) the
// pipeline uses: one insert; one insert plus one outbox row shaped like watermill-sql's.
func benchPostgres(ctx context.Context, cfg runConfig, dbURL string, concs []int) (*PostgresBaseline, error) {
	maxC := 1
	for _, c := range concs {
		maxC = max(maxC, c)
	}
	pool, err := openPool(ctx, dbURL, int32(maxC))
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	out := &PostgresBaseline{Transactions: cfg.pgTransactions, Settings: map[string]string{}}
	for _, s := range []string{"server_version", "synchronous_commit", "fsync", "wal_sync_method", "shared_buffers", "max_connections"} {
		var v string
		if err := pool.QueryRow(ctx, "SELECT current_setting($1)", s).Scan(&v); err == nil {
			out.Settings[s] = v
		}
	}
	if _, err := pool.Exec(ctx, `CREATE SCHEMA bench;
		CREATE TABLE bench.items (id bigserial PRIMARY KEY, ref text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
		CREATE TABLE bench.outbox ("offset" bigserial PRIMARY KEY, uuid varchar(36) NOT NULL, created_at timestamp NOT NULL DEFAULT now(),
			payload json, metadata json, transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id())`); err != nil {
		return nil, fmt.Errorf("baseline tables: %w", err)
	}
	defer pool.Exec(context.Background(), "DROP SCHEMA bench CASCADE") //nolint:errcheck // the database is dropped anyway
	payload := `{"project_id":"01J000000000000000000000","cop_id":"cop-1","region":"r01","topics":["a","b"],"communities":[{"place":"au.r01.t1","group":"young people"}],"starts_on":"2026-01-01","ends_on":"2026-02-01"}`
	meta := `{"ce-id":"01J000000000000000000000","ce-type":"knowledge.project_mapped.v1","ce-source":"national"}`
	// Warm the tables and the pool so the first measured level is not the one that pays.
	for i := 0; i < 100; i++ {
		if _, err := pool.Exec(ctx, "INSERT INTO bench.items (ref, payload) VALUES ($1, $2)", randHex(8), payload); err != nil {
			return nil, err
		}
	}
	for _, kind := range []string{"insert", "insert_outbox"} {
		for _, c := range concs {
			var next atomic.Int64
			lat := make([][]time.Duration, c)
			var wg sync.WaitGroup
			var firstErr error
			var errOnce sync.Once
			deadline := time.Now().Add(cfg.phaseLimit)
			start := time.Now()
			for w := range c {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(cfg.pgTransactions) && time.Now().Before(deadline) {
						t := time.Now()
						err := func() error {
							tx, err := pool.Begin(ctx)
							if err != nil {
								return err
							}
							defer tx.Rollback(ctx) //nolint:errcheck // after commit it is a no-op
							if _, err := tx.Exec(ctx, "INSERT INTO bench.items (ref, payload) VALUES ($1, $2)", randHex(8), payload); err != nil {
								return err
							}
							if kind == "insert_outbox" {
								if _, err := tx.Exec(ctx, "INSERT INTO bench.outbox (uuid, payload, metadata) VALUES ($1, $2, $3)", randHex(13), payload, meta); err != nil {
									return err
								}
							}
							return tx.Commit(ctx)
						}()
						if err != nil {
							errOnce.Do(func() { firstErr = err })
							return
						}
						lat[w] = append(lat[w], time.Since(t))
					}
				}()
			}
			wg.Wait()
			if firstErr != nil {
				return nil, fmt.Errorf("postgres %s ×%d: %w", kind, c, firstErr)
			}
			elapsed := time.Since(start)
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			out.Levels = append(out.Levels, PostgresLevel{Kind: kind, Concurrency: c,
				TxPerSecond: round2(float64(len(all)) / elapsed.Seconds()), RoundTrip: summarise(all)})
		}
	}
	return out, nil
}
