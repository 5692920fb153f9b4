package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults of the Worker's settings.
const (
	DefaultPoll        = 5 * time.Second
	DefaultBatch       = 10
	DefaultMaxAttempts = 12
	DefaultBackoff     = 30 * time.Second
	DefaultMaxBackoff  = time.Hour
	DefaultKeep        = 7 * 24 * time.Hour
)

// recordTimeout bounds recording a delivery after the context was cancelled (shutdown):
// a mail the SMTP server accepted is marked sent even then, which keeps it from going out
// a second time after the restart.
const recordTimeout = 5 * time.Second

// Worker delivers the due mail of the outbox in Pool's schema through Sender. Run it once
// per service; more workers, in this process or in replicas, share the work and still send
// each mail once (see the package documentation).
type Worker struct {
	Pool   *pgxpool.Pool
	Sender Sender
	// From is the sender of every mail (COPNET_MAIL_FROM).
	From   string
	Logger *slog.Logger
	// Now is the worker's clock (default time.Now): a retry is due when Now passes its
	// next_attempt_at. Tests move it instead of sleeping.
	Now func() time.Time

	// Poll is how often Run looks for due mail without being woken (default 5s).
	Poll time.Duration
	// Batch is how many due rows one query fetches (default 10).
	Batch int
	// MaxAttempts is how many failed attempts make a mail given up (default 12: with the
	// default back-off, about seven hours of trying).
	MaxAttempts int
	// Backoff is the wait after the first failed attempt, doubled after each further one
	// up to MaxBackoff (defaults 30s and 1h).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// KeepFailed keeps the bodies of a mail given up, so that an operator can retry it
	// (Retry); without it they are blanked, as sign-in links must not linger.
	KeepFailed bool
	// HandOverFirst, with a Sender that is a HandOverSender (SMTP), records a mail sent
	// before ending its data, then ends it: a crash between the two loses the mail (the
	// server drops data that was never ended, and the row says sent, unconfirmed, for an
	// operator to see in DeadLetters) instead of sending it twice, which is what
	// notify's "each mail once" asks. Without it a crash after the server took the mail
	// sends it again.
	HandOverFirst bool
	// Keep is how long a sent or failed row (its bodies already blanked) stays for the
	// record before Run deletes it (default 7 days).
	Keep time.Duration

	once sync.Once
	wake chan struct{}
}

// Wake makes Run look for due mail now instead of at its next poll. Call it after the
// commit of a transaction that enqueued mail, so that a sign-in link goes out at once; a
// Wake before the commit finds nothing. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wakeChan() <- struct{}{}:
	default: // a wake-up is pending already
	}
}

func (w *Worker) wakeChan() chan struct{} {
	w.once.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Run delivers due mail until ctx ends, then returns nil. It returns an error at once when
// the worker is not usable (no pool, no sender, an invalid From). A database that cannot be
// reached is logged and tried again at the next poll.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.check(); err != nil {
		return err
	}
	poll := w.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var purged time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-w.wakeChan():
		}
		if _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			w.logger().WarnContext(ctx, "mail outbox: delivery round failed; retried at the next poll", "error", err)
		}
		if now := w.now(); now.Sub(purged) >= time.Hour {
			if err := w.Purge(ctx); err != nil && ctx.Err() == nil {
				w.logger().WarnContext(ctx, "mail outbox: purging finished mail failed", "error", err)
			} else {
				purged = now
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(poll)
	}
}

// DeliverDue makes one attempt at every mail due now and returns how many were sent. A mail
// another worker is sending at the same moment is skipped (it is that worker's). Tests call
// it directly to deliver without waiting for a poll.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	batch := w.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	sent := 0
	for {
		now := w.now()
		ids, err := w.due(ctx, now, batch)
		if err != nil {
			return sent, err
		}
		tried := 0
		for _, id := range ids {
			outcome, err := w.deliver(ctx, id, now)
			if err != nil {
				return sent, err
			}
			if outcome == delivered {
				sent++
			}
			if outcome != skipped {
				tried++
			}
		}
		// A full batch may mean more is due; a batch all taken by other workers means
		// they have it in hand.
		if len(ids) < batch || tried == 0 {
			return sent, nil
		}
	}
}

func (w *Worker) due(ctx context.Context, now time.Time, batch int) ([]int64, error) {
	rows, err := w.Pool.Query(ctx, `SELECT id FROM mail_outbox
		WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
		ORDER BY next_attempt_at, id LIMIT $2`, now, batch)
	if err != nil {
		return nil, fmt.Errorf("mail outbox: due mail: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("mail outbox: due mail: %w", err)
	}
	return ids, nil
}

type outcome int

const (
	skipped outcome = iota
	delivered
	retried
	failed
)

// deliver sends row id inside a transaction holding the row's advisory lock and records
// the outcome in it. An error is the database's; the mail's own failures are outcomes.
func (w *Worker) deliver(ctx context.Context, id int64, now time.Time) (outcome, error) {
	tx, err := w.Pool.Begin(ctx)
	if err != nil {
		return skipped, fmt.Errorf("mail outbox: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	// The two-key form keeps the outboxes of schemas sharing a database apart; an id past
	// 2^32 shares its key with a smaller one, which at worst makes one wait a round.
	var locked bool
	if err := tx.QueryRow(ctx,
		"SELECT pg_try_advisory_xact_lock(hashtext('copnet_mail_outbox.' || current_schema()), $1)",
		int32(id)).Scan(&locked); err != nil {
		return skipped, fmt.Errorf("mail outbox: lock: %w", err)
	}
	if !locked {
		return skipped, nil
	}
	// Read after the lock, in a fresh snapshot: a worker that sent the row committed
	// before it let the lock go, so the row shows as sent here.
	var m Mail
	var token string
	var attempts int
	var files []byte
	err = tx.QueryRow(ctx, `SELECT message_id, to_addr, subject, text_body, coalesce(html_body, ''), created_at, attempts,
			coalesce(list_unsubscribe, ''), attachments
		FROM mail_outbox WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2`,
		id, now).Scan(&token, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Date, &attempts, &m.ListUnsubscribe, &files)
	if errors.Is(err, pgx.ErrNoRows) {
		return skipped, nil
	}
	if err != nil {
		return skipped, fmt.Errorf("mail outbox: read mail %d: %w", id, err)
	}
	if len(files) > 0 {
		if err := json.Unmarshal(files, &m.Attachments); err != nil {
			return skipped, fmt.Errorf("mail outbox: attachments of mail %d: %w", id, err)
		}
	}
	m.MessageID = token + "@" + domainOf(w.From)
	attempts++
	log := w.logger().With("mail_id", id, "to_domain", domainOf(m.To), "subject", m.Subject, "attempt", attempts)

	if hs, ok := w.Sender.(HandOverSender); ok && w.HandOverFirst {
		return w.handOver(ctx, tx, hs, id, m, attempts, log)
	}
	sendErr := w.Sender.Send(ctx, w.From, m)
	if sendErr != nil && ctx.Err() != nil {
		return skipped, ctx.Err() // shutting down: not the mail's failure
	}
	return w.record(ctx, tx, id, m, attempts, sendErr, log)
}

// handOver records the mail sent before ending its data (see HandOverFirst), then ends it
// and confirms it, or, when the server refuses it, records the failure after all.
func (w *Worker) handOver(ctx context.Context, tx pgx.Tx, hs HandOverSender, id int64, m Mail, attempts int, log *slog.Logger) (outcome, error) {
	h, err := hs.Begin(ctx, w.From, m)
	if err != nil {
		if ctx.Err() != nil {
			return skipped, ctx.Err()
		}
		return w.record(ctx, tx, id, m, attempts, err, log)
	}
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	_, err = tx.Exec(rec, `UPDATE mail_outbox SET sent_at = $2, attempts = $3, last_error = NULL WHERE id = $1`, id, w.now(), attempts)
	if err == nil {
		err = tx.Commit(rec)
	}
	if err != nil {
		h.Abort() // the server drops the mail; the row is still due
		return skipped, fmt.Errorf("mail outbox: record mail %d handed over: %w", id, err)
	}
	if finErr := h.Finish(); finErr != nil {
		// Recorded sent, refused at the end: due again (or given up), in a new transaction.
		reason := redact(finErr.Error(), m.To)
		q := `UPDATE mail_outbox SET sent_at = NULL, last_error = $2, next_attempt_at = $3 WHERE id = $1`
		args := []any{id, reason, w.now().Add(w.backoff(attempts))}
		if IsPermanent(finErr) || attempts >= w.maxAttempts() {
			q = `UPDATE mail_outbox SET sent_at = NULL, failed_at = $3, last_error = $2 WHERE id = $1`
			args = []any{id, reason, w.now()}
		}
		if _, err := w.Pool.Exec(rec, q, args...); err != nil {
			return retried, fmt.Errorf("mail outbox: record mail %d refused at the end of its data: %w", id, err)
		}
		log.WarnContext(ctx, "mail outbox: server refused the end of the data", "error", reason)
		return retried, nil
	}
	if _, err := w.Pool.Exec(rec, `UPDATE mail_outbox SET confirmed_at = $2, text_body = '', html_body = NULL, attachments = NULL
		WHERE id = $1`, id, w.now()); err != nil {
		log.WarnContext(ctx, "mail outbox: mail sent; recording its confirmation failed", "error", err)
	}
	log.InfoContext(ctx, "mail sent")
	return delivered, nil
}

// record writes the outcome of one attempt in tx and commits it.
func (w *Worker) record(ctx context.Context, tx pgx.Tx, id int64, m Mail, attempts int, sendErr error, log *slog.Logger) (outcome, error) {
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	var err error
	switch {
	case sendErr == nil:
		_, err = tx.Exec(rec, `UPDATE mail_outbox SET sent_at = $2, confirmed_at = $2, attempts = $3, last_error = NULL,
			text_body = '', html_body = NULL, attachments = NULL WHERE id = $1`, id, w.now(), attempts)
		if err == nil {
			err = tx.Commit(rec)
		}
		if err != nil {
			// The one at-least-once window: the server has the mail, the row says due.
			log.WarnContext(ctx, "mail outbox: mail sent but not recorded as sent; it will be sent again with the same Message-ID", "error", err)
			return delivered, fmt.Errorf("mail outbox: record mail %d sent: %w", id, err)
		}
		log.InfoContext(ctx, "mail sent")
		return delivered, nil
	case IsPermanent(sendErr) || attempts >= w.maxAttempts():
		reason := redact(sendErr.Error(), m.To)
		blank := "text_body = '', html_body = NULL, attachments = NULL"
		if w.KeepFailed {
			blank = "text_body = text_body" // kept for Retry
		}
		_, err = tx.Exec(rec, `UPDATE mail_outbox SET failed_at = $2, attempts = $3, last_error = $4, `+blank+` WHERE id = $1`,
			id, w.now(), attempts, reason)
		if err == nil {
			err = tx.Commit(rec)
		}
		if err != nil {
			return failed, fmt.Errorf("mail outbox: record mail %d failed: %w", id, err)
		}
		log.ErrorContext(ctx, "mail outbox: mail given up", "permanent", IsPermanent(sendErr), "error", reason)
		return failed, nil
	default:
		reason := redact(sendErr.Error(), m.To)
		next := w.now().Add(w.backoff(attempts))
		_, err = tx.Exec(rec, `UPDATE mail_outbox SET attempts = $2, last_error = $3, next_attempt_at = $4 WHERE id = $1`,
			id, attempts, reason, next)
		if err == nil {
			err = tx.Commit(rec)
		}
		if err != nil {
			return retried, fmt.Errorf("mail outbox: record mail %d attempt: %w", id, err)
		}
		log.WarnContext(ctx, "mail outbox: sending failed; retried later", "error", reason, "next_attempt_at", next)
		return retried, nil
	}
}

// Purge deletes rows sent or given up more than Keep ago. Their bodies are blank already;
// what goes is the recipient's address and the record that a mail went.
func (w *Worker) Purge(ctx context.Context) error {
	keep := w.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	if _, err := w.Pool.Exec(ctx, `DELETE FROM mail_outbox
		WHERE (sent_at IS NOT NULL OR failed_at IS NOT NULL) AND coalesce(sent_at, failed_at) < $1`,
		w.now().Add(-keep)); err != nil {
		return fmt.Errorf("mail outbox: purge: %w", err)
	}
	return nil
}

// backoff is the wait after the attempt-th failed attempt.
func (w *Worker) backoff(attempt int) time.Duration {
	d, limit := w.Backoff, w.MaxBackoff
	if d <= 0 {
		d = DefaultBackoff
	}
	if limit <= 0 {
		limit = DefaultMaxBackoff
	}
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return w.MaxAttempts
}

func (w *Worker) check() error {
	if w.Pool == nil || w.Sender == nil {
		return errors.New("mail worker: needs a Pool and a Sender")
	}
	if _, err := envelopeAddress(w.From); err != nil {
		return fmt.Errorf("mail worker: From %s", err)
	}
	return nil
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

// redact replaces the recipient's address in a server's reply (which often repeats it)
// with its domain, so the error that is logged and stored names no person.
func redact(msg, to string) string {
	addr, err := envelopeAddress(to)
	if err != nil {
		return msg
	}
	hidden := "(recipient)@" + domainOf(addr)
	msg = strings.ReplaceAll(msg, addr, hidden)
	if lower := strings.ToLower(addr); lower != addr {
		msg = strings.ReplaceAll(msg, lower, hidden)
	}
	return msg
}
