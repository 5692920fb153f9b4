package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/mail"
)

// Run delivers due deliveries until ctx ends: when woken by a new delivery, and every Poll.
func (h *Hooks) Run(ctx context.Context) error {
	poll := h.s.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	var purged time.Time
	for {
		if _, err := h.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			h.s.Logger.Warn("webhook deliveries", "error", err)
		}
		if now := h.s.Now(); now.Sub(purged) >= time.Hour {
			if err := h.Purge(ctx, now); err != nil && ctx.Err() == nil {
				h.s.Logger.Warn("webhook purge", "error", err)
			}
			purged = now
		}
		select {
		case <-ctx.Done():
			return nil
		case <-h.wake:
		case <-t.C:
		}
	}
}

// Keep is how long a delivered delivery stays listed.
const Keep = 30 * 24 * time.Hour

// Purge deletes deliveries delivered more than Keep ago, with their attempts.
func (h *Hooks) Purge(ctx context.Context, now time.Time) error {
	_, err := h.store.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE delivered_at < $1`, now.Add(-Keep))
	return err
}

// DeliverDue attempts every delivery due now, one at a time, and returns how many it
// attempted.
func (h *Hooks) DeliverDue(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		attempted, err := h.attemptOne(ctx)
		if err != nil || !attempted {
			return n, err
		}
		n++
	}
	return n, ctx.Err()
}

// lease is how long a claimed delivery is left to its worker: a worker that dies while
// sending leaves it due again after this.
const lease = 2 * time.Minute

// attemptOne claims the next due delivery (a short transaction that pushes its due time a
// lease ahead), sends it with no transaction or connection held, and records the outcome: a
// success is never sent again, a failure is retried after a growing back-off, and
// MaxFailures failures in a row disable the endpoint and mail its owner, in the same
// transaction. A crash between the receiver's answer and the record sends it once more,
// with the same webhook-id, which receivers use to drop the repeat (as Standard Webhooks
// says).
func (h *Hooks) attemptOne(ctx context.Context) (bool, error) {
	now := h.s.Now()
	var d due
	var found bool
	err := pgx.BeginFunc(ctx, h.store.pool, func(tx pgx.Tx) error {
		var err error
		if d, found, err = claimDue(ctx, tx, now); err != nil || !found {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = $1`, d.ID, now.Add(lease))
		return err
	})
	if err != nil || !found {
		return false, err
	}
	status, sendErr := h.send(ctx, d, now)
	mailed := false
	err = pgx.BeginFunc(ctx, h.store.pool, func(tx pgx.Tx) error {
		var err error
		mailed, err = h.record(ctx, tx, d, now, status, sendErr)
		return err
	})
	if mailed {
		h.s.MailQueued()
	}
	return true, err
}

// record writes an attempt's outcome; mailed says the owner's mail was written.
func (h *Hooks) record(ctx context.Context, tx pgx.Tx, d due, now time.Time, status int, sendErr error) (mailed bool, err error) {
	attempt := d.Attempts + 1
	var statusArg *int
	if status != 0 {
		statusArg = &status
	}
	errText := ""
	var next *time.Time
	if sendErr != nil {
		errText = errorText(sendErr)
		at := now.Add(Backoff(h.retryBase(), h.retryCeiling(), attempt))
		next = &at
	}
	var delivered *time.Time
	if sendErr == nil {
		delivered = &now
	}
	tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET attempts = $2, last_status = $3, last_error = $4,
		delivered_at = $5, next_attempt_at = $6 WHERE id = $1`, d.ID, attempt, statusArg, errText, delivered, next)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err // the endpoint was removed meanwhile: nothing to record
	}
	if _, err := tx.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error) VALUES ($1, $2, $3, $4, $5)`,
		d.ID, attempt, now, statusArg, errText); err != nil {
		return false, err
	}
	if sendErr == nil {
		_, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET failures = 0 WHERE id = $1`, d.Endpoint.ID)
		return false, err
	}
	var failures int
	var disabled bool
	if err := tx.QueryRow(ctx, `UPDATE webhook_endpoints SET failures = failures + 1 WHERE id = $1
		RETURNING failures, disabled_at IS NOT NULL`, d.Endpoint.ID).Scan(&failures, &disabled); err != nil {
		return false, err
	}
	if disabled || failures < h.maxFailures() {
		return false, nil
	}
	reason := fmt.Sprintf("%d failed attempts in a row; the last: %s", failures, errText)
	if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3 WHERE id = $1`,
		d.Endpoint.ID, now, reason); err != nil {
		return false, err
	}
	return h.mailOwner(ctx, tx, d.Endpoint, reason)
}

// send POSTs the delivery's CloudEvent, signed; any 2xx is success.
func (h *Hooks) send(ctx context.Context, d due, now time.Time) (int, error) {
	// The policy is checked again at every attempt: a URL registered under a looser policy
	// (a loopback node since moved to production settings) is not called.
	if err := h.s.Policy.Check(d.Endpoint.URL); err != nil {
		return 0, fmt.Errorf("url refused: %w", err)
	}
	sig, err := Sign(d.Endpoint.Secret, d.EventID, now, d.Body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Endpoint.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	req.Header.Set("User-Agent", "copnet-webhooks/1")
	req.Header.Set("webhook-id", d.EventID)
	req.Header.Set("webhook-timestamp", unixString(now))
	req.Header.Set("webhook-signature", sig)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // only drained for reuse
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// mailOwner writes the "your webhook was disabled" mail to the endpoint's owner, in tx. The
// address comes from notify's contacts (erasure removes it there); an owner without one is
// only logged: the endpoint's page says why it stopped.
func (h *Hooks) mailOwner(ctx context.Context, tx pgx.Tx, e Endpoint, reason string) (bool, error) {
	var address string
	err := tx.QueryRow(ctx, `SELECT address FROM contacts WHERE person_id = $1`, e.OwnerID).Scan(&address)
	if errors.Is(err, pgx.ErrNoRows) {
		h.s.Logger.Warn("webhook disabled; its owner has no address to tell", "endpoint", e.ID)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	text := fmt.Sprintf(`Your webhook endpoint %s was disabled: %s.

Nothing is sent to it until it is enabled again, and events meanwhile are not kept for it.
Once the receiver works, enable it (POST %s/v1/webhooks/%s/enable): what failed is sent again.

See its deliveries: %s/v1/webhooks/%s/deliveries
`, e.URL, reason, h.s.PublicURL, e.ID, h.s.PublicURL, e.ID)
	return true, mail.Enqueue(ctx, tx, mail.Mail{To: address, Subject: "copnet: webhook disabled after repeated failures", Text: text})
}

func (h *Hooks) retryBase() time.Duration {
	if h.s.RetryBase > 0 {
		return h.s.RetryBase
	}
	return 30 * time.Second
}

func (h *Hooks) retryCeiling() time.Duration {
	if h.s.RetryCeiling > 0 {
		return h.s.RetryCeiling
	}
	return 6 * time.Hour
}

func (h *Hooks) maxFailures() int {
	if h.s.MaxFailures > 0 {
		return h.s.MaxFailures
	}
	return 5
}
