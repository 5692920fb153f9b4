package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/apperr"
)

// Schema creates the outbox table in the current schema (the pool's search_path is the
// service's own schema). Migrate runs it; a service may also copy it into its migrations.
//
// A row is due while sent_at and failed_at are null and next_attempt_at has passed. New rows
// are due at once ('-infinity', whatever the worker's clock says), ahead of retries. The
// bodies hold secrets (sign-in links): the worker blanks text_body and html_body in the
// transaction that sets sent_at or failed_at, and deletes finished rows after Worker.Keep.
// message_id is drawn at enqueue and used for every attempt, so a mail sent twice (see the
// package documentation) is recognisable as one mail.
const Schema = `
CREATE TABLE IF NOT EXISTS mail_outbox (
	id bigserial PRIMARY KEY,
	message_id text NOT NULL,
	to_addr text NOT NULL,
	subject text NOT NULL,
	text_body text NOT NULL,
	html_body text,
	created_at timestamptz NOT NULL DEFAULT now(),
	attempts int NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
	last_error text,
	sent_at timestamptz,
	failed_at timestamptz
);
CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox (next_attempt_at, id)
	WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX IF NOT EXISTS mail_outbox_finished ON mail_outbox (coalesce(sent_at, failed_at))
	WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL;
-- idem_key makes a mail once-only (notify: the event and the recipient); list_unsubscribe
-- is the mail's List-Unsubscribe target; attachments is a JSON array of Attachment.
-- confirmed_at is set when the server answered the end of the data of a mail the worker
-- recorded as sent before ending it (Worker.HandOverFirst).
ALTER TABLE mail_outbox ADD COLUMN IF NOT EXISTS idem_key text;
ALTER TABLE mail_outbox ADD COLUMN IF NOT EXISTS list_unsubscribe text;
ALTER TABLE mail_outbox ADD COLUMN IF NOT EXISTS attachments jsonb;
ALTER TABLE mail_outbox ADD COLUMN IF NOT EXISTS confirmed_at timestamptz;
CREATE UNIQUE INDEX IF NOT EXISTS mail_outbox_key ON mail_outbox (idem_key) WHERE idem_key IS NOT NULL;
`

// Migrate creates the outbox table in pool's schema. Like the event outbox's tables it must
// exist before the first Enqueue: creating it inside a caller's transaction would fail that
// transaction. It is safe to run at every start, by several replicas at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// CREATE ... IF NOT EXISTS still races on the catalog when two replicas start
		// together; the lock makes the second wait and then find the table.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('copnet_mail_outbox.' || current_schema()))"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, Schema)
		return err
	})
	if err != nil {
		return fmt.Errorf("mail outbox table: %w", err)
	}
	return nil
}

// Mail is one message to one person.
type Mail struct {
	// To is the recipient, an RFC 5322 address ("alice@example.org" or
	// "Alice <alice@example.org>"); the address itself must be ASCII.
	To string
	// Subject is one line of text, encoded on the way out when it is not ASCII.
	Subject string
	// Text is the plain-text body, which every mail has; HTML is an optional alternative.
	Text string
	HTML string

	// Key, when set, makes the mail once-only: a second Enqueue with the same key is
	// dropped (notify keys a mail by the event that caused it and its recipient).
	Key string
	// ListUnsubscribe, when set, is an https URL that turns this kind of mail off with a
	// single POST (RFC 8058): it goes out as List-Unsubscribe with List-Unsubscribe-Post.
	ListUnsubscribe string
	// Attachments go after the body (multipart/mixed), such as an iCalendar invitation.
	Attachments []Attachment

	// MessageID (without angle brackets) and Date are set by the Worker from the outbox
	// row, so that every attempt at one mail carries the same ones; Enqueue ignores them.
	// When empty, Compose draws a Message-ID and takes the current time.
	MessageID string
	Date      time.Time
}

// Attachment is a file sent with a mail.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// Limits of what Enqueue accepts. A subject is kept well below the 998-character line limit
// of RFC 5322 once encoded; bodies are generous for a transactional mail.
const (
	maxSubject = 200
	maxText    = 256 << 10
	maxHTML    = 1 << 20
)

// Validate reports every problem with m at once, as a 400 naming the fields.
func (m Mail) Validate() error {
	var fields []apperr.FieldError
	if _, err := envelopeAddress(m.To); err != nil {
		fields = append(fields, apperr.FieldError{Field: "to", Message: err.Error()})
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		fields = append(fields, apperr.FieldError{Field: "subject", Message: "is required"})
	case !utf8.ValidString(m.Subject) || strings.ContainsFunc(m.Subject, unicode.IsControl):
		fields = append(fields, apperr.FieldError{Field: "subject", Message: "must be one line of text"})
	case utf8.RuneCountInString(m.Subject) > maxSubject:
		fields = append(fields, apperr.FieldError{Field: "subject", Message: fmt.Sprintf("is longer than %d characters", maxSubject)})
	}
	switch {
	case strings.TrimSpace(m.Text) == "":
		fields = append(fields, apperr.FieldError{Field: "text", Message: "is required"})
	case !utf8.ValidString(m.Text) || strings.ContainsRune(m.Text, 0):
		fields = append(fields, apperr.FieldError{Field: "text", Message: "must be UTF-8 text"})
	case len(m.Text) > maxText:
		fields = append(fields, apperr.FieldError{Field: "text", Message: fmt.Sprintf("is larger than %d bytes", maxText)})
	}
	switch {
	case !utf8.ValidString(m.HTML) || strings.ContainsRune(m.HTML, 0):
		fields = append(fields, apperr.FieldError{Field: "html", Message: "must be UTF-8 text"})
	case len(m.HTML) > maxHTML:
		fields = append(fields, apperr.FieldError{Field: "html", Message: fmt.Sprintf("is larger than %d bytes", maxHTML)})
	}
	if u := m.ListUnsubscribe; u != "" && (strings.ContainsAny(u, "<>\r\n \t") || !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://"))) {
		fields = append(fields, apperr.FieldError{Field: "list_unsubscribe", Message: "must be an http(s) URL"})
	}
	total := 0
	for i, a := range m.Attachments {
		total += len(a.Data)
		if a.Name == "" || strings.ContainsAny(a.Name, "\"\\/\r\n") || !utf8.ValidString(a.Name) {
			fields = append(fields, apperr.FieldError{Field: fmt.Sprintf("attachments[%d].name", i), Message: "must be a plain file name"})
		}
		if _, _, err := mime.ParseMediaType(a.ContentType); err != nil || strings.ContainsAny(a.ContentType, "\r\n") {
			fields = append(fields, apperr.FieldError{Field: fmt.Sprintf("attachments[%d].content_type", i), Message: "must be a media type"})
		}
	}
	if total > maxHTML {
		fields = append(fields, apperr.FieldError{Field: "attachments", Message: fmt.Sprintf("are larger than %d bytes", maxHTML)})
	}
	if len(fields) > 0 {
		return apperr.InvalidFields(fields...)
	}
	return nil
}

// envelopeAddress is the bare address of an RFC 5322 address, for SMTP's MAIL FROM and
// RCPT TO. net/smtp speaks no SMTPUTF8, so a non-ASCII address could never be delivered.
func envelopeAddress(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("must be one e-mail address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("must be an e-mail address such as alice@example.org")
	}
	for i := 0; i < len(a.Address); i++ {
		if a.Address[i] >= utf8.RuneSelf {
			return "", fmt.Errorf("must be an ASCII e-mail address")
		}
	}
	if !strings.Contains(a.Address, "@") || strings.HasSuffix(a.Address, "@") {
		return "", fmt.Errorf("must name a domain")
	}
	return a.Address, nil
}

// Querier is what Enqueue writes with: pgx.Tx, *pgx.Conn or *pgxpool.Pool.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Enqueue writes m into the outbox through q. Pass the transaction of the state change that
// causes the mail (in a repository, the pgx.Tx of postgres.Tx, or postgres.TxFrom(ctx)): the
// mail then goes out if and only if that transaction commits. Given a pool, the mail commits
// on its own. Wake the Worker after the commit to send it at once rather than at its next
// poll. A mail that fails Validate is refused with an *apperr.Error (a 400 naming the field).
func Enqueue(ctx context.Context, q Querier, m Mail) error {
	if err := m.Validate(); err != nil {
		return err
	}
	var html, key, unsub, files any
	if m.HTML != "" {
		html = m.HTML
	}
	if m.Key != "" {
		key = m.Key
	}
	if m.ListUnsubscribe != "" {
		unsub = m.ListUnsubscribe
	}
	if len(m.Attachments) > 0 {
		b, err := json.Marshal(m.Attachments)
		if err != nil {
			return fmt.Errorf("mail outbox: attachments: %w", err)
		}
		files = b
	}
	if _, err := q.Exec(ctx,
		`INSERT INTO mail_outbox (message_id, to_addr, subject, text_body, html_body, idem_key, list_unsubscribe, attachments)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (idem_key) WHERE idem_key IS NOT NULL DO NOTHING`,
		newToken(), m.To, m.Subject, m.Text, html, key, unsub, files); err != nil {
		return fmt.Errorf("mail outbox: enqueue: %w", err)
	}
	return nil
}

// Erase deletes every mail to address (matched without regard to case or display name),
// sent or not: a person who is erased gets no mail written before, and no trace of it stays.
// It returns how many rows it removed.
func Erase(ctx context.Context, q Querier, address string) (int64, error) {
	addr, err := envelopeAddress(address)
	if err != nil {
		addr = strings.TrimSpace(address)
	}
	// to_addr may hold a display name; the address is what is inside the angle brackets
	// then, or the whole value.
	tag, err := q.Exec(ctx, `DELETE FROM mail_outbox
		WHERE lower(coalesce(substring(to_addr from '<([^<>]*)>\s*$'), btrim(to_addr))) = lower($1)`, addr)
	if err != nil {
		return 0, fmt.Errorf("mail outbox: erase: %w", err)
	}
	return tag.RowsAffected(), nil
}

// newToken draws the local part of a Message-ID: unique across services, nodes and
// databases without coordination, and saying nothing about the mail.
func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}
