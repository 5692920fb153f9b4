package webhooks

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
)

// store is the webhooks' PostgreSQL repository (tables webhook_*, migration 101). Each
// method joins the transaction ctx carries (the event consumer's), or runs its own.
type store struct {
	pool *pgxpool.Pool
}

func (s *store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return postgres.Tx(ctx, s.pool, fn)
}

const endpointColumns = `id, owner_id, region, url, secret, event_types, created_at, failures, disabled_at, disabled_reason`

func scanEndpoint(row pgx.Row) (Endpoint, error) {
	var e Endpoint
	err := row.Scan(&e.ID, &e.OwnerID, &e.Region, &e.URL, &e.Secret, &e.EventTypes, &e.CreatedAt, &e.Failures, &e.DisabledAt, &e.DisabledReason)
	return e, err
}

func (s *store) addEndpoint(ctx context.Context, e Endpoint) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (id, owner_id, region, url, secret, event_types, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ID, e.OwnerID, e.Region, e.URL, e.Secret, e.EventTypes, e.CreatedAt)
		return err
	})
}

func (s *store) endpoints(ctx context.Context) ([]Endpoint, error) {
	var out []Endpoint
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return scanEndpoint(r) })
		return err
	})
	return out, err
}

func (s *store) endpoint(ctx context.Context, id string) (e Endpoint, found bool, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		e, err = scanEndpoint(tx.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return e, false, nil
	}
	return e, err == nil, err
}

// subscribed lists the active endpoints that want events of type.
func (s *store) subscribed(ctx context.Context, eventType string) ([]Endpoint, error) {
	var out []Endpoint
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
			WHERE disabled_at IS NULL AND $1 = ANY (event_types) ORDER BY id`, eventType)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return scanEndpoint(r) })
		return err
	})
	return out, err
}

func (s *store) enable(ctx context.Context, id string, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = '', failures = 0 WHERE id = $1`, id); err != nil {
			return err
		}
		// What waited while it was disabled goes out now, not after its old back-off.
		_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE endpoint_id = $1 AND delivered_at IS NULL`, id, now)
		return err
	})
}

func (s *store) removeEndpoint(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
		return err
	})
}

func (s *store) rememberCoP(ctx context.Context, cop, region string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webhook_cop_regions (cop_id, region) VALUES ($1, $2)
			ON CONFLICT (cop_id) DO UPDATE SET region = excluded.region`, cop, region)
		return err
	})
}

// regionOf is the region of a CoP, "" when no event named it yet.
func (s *store) regionOf(ctx context.Context, cop string) (string, error) {
	var region string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT region FROM webhook_cop_regions WHERE cop_id = $1`, cop).Scan(&region)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return region, err
}

func (s *store) addDelivery(ctx context.Context, endpoint string, env events.Envelope, body []byte, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (endpoint_id, event_id) DO NOTHING`, endpoint, env.ID, env.Type, body, now)
		return err
	})
}

func (s *store) deliveries(ctx context.Context, endpoint string, limit int) ([]DeliveryView, error) {
	out := []DeliveryView{}
	// One snapshot for both queries: an attempt committed between them would show a
	// delivery without its outcome.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, event_id, event_type, created_at, last_status, last_error, delivered_at, next_attempt_at
			FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2`, endpoint, limit)
		if err != nil {
			return err
		}
		var ids []int64
		byID := map[int64]int{}
		for rows.Next() {
			var id int64
			var d DeliveryView
			if err := rows.Scan(&id, &d.EventID, &d.EventType, &d.CreatedAt, &d.LastStatus, &d.LastError, &d.DeliveredAt, &d.NextAttemptAt); err != nil {
				return err
			}
			d.Attempts = []AttemptView{}
			byID[id] = len(out)
			ids = append(ids, id)
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT delivery_id, at, status, error FROM webhook_attempts
			WHERE delivery_id = ANY ($1) ORDER BY delivery_id, attempt`, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var a AttemptView
			if err := rows.Scan(&id, &a.At, &a.Status, &a.Error); err != nil {
				return err
			}
			d := &out[byID[id]]
			d.Attempts = append(d.Attempts, a)
		}
		return rows.Err()
	})
	for i := range out {
		d := &out[i]
		switch {
		case d.DeliveredAt != nil:
			d.Status = "delivered"
			d.NextAttemptAt = nil
		case len(d.Attempts) == 0:
			d.Status = "pending"
		default:
			d.Status = "retrying"
		}
	}
	return out, err
}

// due is a delivery to attempt, with its endpoint.
type due struct {
	ID       int64
	EventID  string
	Body     []byte
	Attempts int
	Endpoint Endpoint
}

// claimDue locks the next due delivery of an active endpoint in tx; SKIP LOCKED lets
// another worker take the next one meanwhile.
func claimDue(ctx context.Context, tx pgx.Tx, now time.Time) (d due, found bool, err error) {
	err = tx.QueryRow(ctx, `SELECT d.id, d.event_id, d.body, d.attempts, `+prefixed("e", endpointColumns)+`
		FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
		WHERE d.delivered_at IS NULL AND e.disabled_at IS NULL AND d.next_attempt_at <= $1
		ORDER BY d.next_attempt_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED`, now).
		Scan(&d.ID, &d.EventID, &d.Body, &d.Attempts, &d.Endpoint.ID, &d.Endpoint.OwnerID, &d.Endpoint.Region, &d.Endpoint.URL,
			&d.Endpoint.Secret, &d.Endpoint.EventTypes, &d.Endpoint.CreatedAt, &d.Endpoint.Failures, &d.Endpoint.DisabledAt, &d.Endpoint.DisabledReason)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	return d, err == nil, err
}

func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
