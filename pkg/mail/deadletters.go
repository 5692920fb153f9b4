package mail

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
)

// DeadLetter is a mail the worker gave up, or one recorded sent whose end of data the
// server never confirmed (the process stopped in between: the person may not have it).
type DeadLetter struct {
	ID          int64     `json:"id"`
	ToDomain    string    `json:"to_domain"`
	Subject     string    `json:"subject"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error"`
	At          time.Time `json:"at"`
	Unconfirmed bool      `json:"unconfirmed"`
	// Retryable is false when the bodies were blanked (a worker without KeepFailed).
	Retryable bool `json:"retryable"`
}

// RowQuerier is what DeadLetters reads with: pgx.Tx or *pgxpool.Pool.
type RowQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// DeadLetters lists the mail given up, and mail unconfirmed for longer than grace, newest
// first, at most limit. It names the recipient's domain only: the list is for an operator.
func DeadLetters(ctx context.Context, q RowQuerier, grace time.Duration, limit int) ([]DeadLetter, error) {
	rows, err := q.Query(ctx, `SELECT id, to_addr, subject, attempts, coalesce(last_error, ''),
			coalesce(failed_at, sent_at), failed_at IS NULL, text_body <> ''
		FROM mail_outbox
		WHERE failed_at IS NOT NULL OR (sent_at IS NOT NULL AND confirmed_at IS NULL AND sent_at < now() - $1::interval)
		ORDER BY coalesce(failed_at, sent_at) DESC, id DESC LIMIT $2`, grace.String(), limit)
	if err != nil {
		return nil, fmt.Errorf("mail outbox: dead letters: %w", err)
	}
	out := []DeadLetter{}
	for rows.Next() {
		var d DeadLetter
		var to string
		if err := rows.Scan(&d.ID, &to, &d.Subject, &d.Attempts, &d.LastError, &d.At, &d.Unconfirmed, &d.Retryable); err != nil {
			rows.Close()
			return nil, err
		}
		d.ToDomain = domainOf(to)
		out = append(out, d)
	}
	rows.Close()
	return out, rows.Err()
}

// Retry makes a dead letter due again, with its attempts counted afresh. A mail whose
// bodies were blanked, or that is not a dead letter, is refused (409, 404).
func Retry(ctx context.Context, q Querier, id int64) error {
	tag, err := q.Exec(ctx, `UPDATE mail_outbox SET failed_at = NULL, sent_at = NULL, confirmed_at = NULL,
			attempts = 0, next_attempt_at = '-infinity'
		WHERE id = $1 AND text_body <> '' AND (failed_at IS NOT NULL OR (sent_at IS NOT NULL AND confirmed_at IS NULL))`, id)
	if err != nil {
		return fmt.Errorf("mail outbox: retry: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.NotFound("no dead letter %d to retry", id)
	}
	return nil
}
