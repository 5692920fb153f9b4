package mail_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
)

const signinLink = "https://cop.example.org/signin?token=s3cr3t-t0ken-a1b2c3"

// The mail commits with the state change or not at all: a rolled-back transaction sends
// nothing, a committed one arrives over SMTP with its subject and both bodies, and the
// link leaves no trace in the database or the logs once sent.
func TestMailCommitsWithTheStateChange(t *testing.T) {
	ctx := context.Background()
	pool := outboxPool(t)
	mp := testkit.Mailpit(t)
	logger, logs := capturedLogger()
	w := &mail.Worker{Pool: pool, Sender: mail.SMTP{URL: mp.SMTPURL()}, From: "copnet <no-reply@cop.example.org>", Logger: logger}

	var exists bool
	must(t, pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", schema+".mail_outbox").Scan(&exists))
	if !exists {
		t.Fatalf("mail_outbox is not in the pool's schema %s", schema)
	}
	// The table a state change would write beside the mail.
	_, err := pool.Exec(ctx, "CREATE TABLE invitations (email text PRIMARY KEY)")
	must(t, err)

	errRollback := errors.New("the invitation broke a rule")
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO invitations VALUES ('bob@example.org')"); err != nil {
			return err
		}
		if err := mail.Enqueue(ctx, tx, mail.Mail{To: "bob@example.org", Subject: "Invitation", Text: "Join: " + signinLink}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("transaction: %v", err)
	}
	subject := "Votre lien de connexion — copnet ✓"
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO invitations VALUES ('alice@example.org')"); err != nil {
			return err
		}
		return mail.Enqueue(ctx, tx, mail.Mail{
			To:      "Alice Émile <alice@example.org>",
			Subject: subject,
			Text:    "Hello,\n\nsign in with this link:\n" + signinLink + "\n\nIt works once, for 15 minutes.\n",
			HTML:    `<p>Hello,</p><p><a href="` + signinLink + `">Sign in</a></p>`,
		})
	})
	must(t, err)

	sent, err := w.DeliverDue(ctx)
	must(t, err)
	if sent != 1 {
		t.Fatalf("DeliverDue sent %d, want 1", sent)
	}
	got := mp.WaitFor(t, "alice@example.org")
	if got.Subject != subject {
		t.Errorf("subject %q, want %q", got.Subject, subject)
	}
	if !strings.Contains(got.Text, "\n"+signinLink+"\n") || !strings.HasPrefix(got.Text, "Hello,\n\nsign in") {
		t.Errorf("text body %q lost the link or its lines", got.Text)
	}
	if !strings.Contains(got.HTML, `href="`+signinLink+`"`) {
		t.Errorf("HTML body %q lost the link", got.HTML)
	}
	if got.From != "no-reply@cop.example.org" {
		t.Errorf("from %q", got.From)
	}
	if n := len(mp.MessagesTo(t, "bob@example.org")); n != 0 {
		t.Fatalf("%d mails to bob, whose invitation rolled back", n)
	}

	r := onlyRow(t, pool)
	if r.SentAt == nil || r.FailedAt != nil || r.Attempts != 1 || r.LastError != nil {
		t.Fatalf("row after delivery: %+v", r)
	}
	if r.Text != "" || r.HTML != nil {
		t.Fatalf("bodies not blanked after delivery: text %q html %v", r.Text, r.HTML)
	}
	if want := r.MessageID + "@cop.example.org"; got.MessageID != want {
		t.Fatalf("Message-ID %q, want the row's stable %q", got.MessageID, want)
	}
	var linkStored bool
	must(t, pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM mail_outbox WHERE text_body LIKE '%s3cr3t%' OR html_body LIKE '%s3cr3t%')").Scan(&linkStored))
	if linkStored {
		t.Fatal("the link is still in the outbox")
	}

	// Delivered once: nothing is due any more.
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("second round sent %d (%v), want 0", sent, err)
	}
	if n := len(mp.MessagesTo(t, "alice@example.org")); n != 1 {
		t.Fatalf("%d mails to alice, want 1", n)
	}
	if !strings.Contains(logs.String(), `"msg":"mail sent"`) || !strings.Contains(logs.String(), `"to_domain":"example.org"`) {
		t.Fatalf("no delivery logged:\n%s", logs)
	}
	assertNoSecrets(t, logs.String(), "s3cr3t", "alice", "Hello")
}

// An unreachable SMTP server costs attempts with a growing wait between them, not the mail:
// it goes out once the server is there and the wait has passed, and once only.
func TestUnreachableServerIsRetriedUntilDelivered(t *testing.T) {
	ctx := context.Background()
	pool := outboxPool(t)
	port := testkit.FreePort(t) // nothing listens here until Mailpit does
	clock := testkit.NewClock(time.Now())
	logger, logs := capturedLogger()
	w := &mail.Worker{Pool: pool, Sender: mail.SMTP{URL: "smtp://127.0.0.1:" + itoa(port)}, From: "no-reply@cop.example.org",
		Logger: logger, Now: clock.Now, Backoff: time.Minute, MaxBackoff: 5 * time.Minute}
	enqueue(t, pool, mail.Mail{To: "carol@example.org", Subject: "Sign in", Text: signinLink})

	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("sent %d (%v) with the server down", sent, err)
	}
	r := onlyRow(t, pool)
	if r.Attempts != 1 || r.LastError == nil || !strings.Contains(*r.LastError, "refused") || r.SentAt != nil || r.FailedAt != nil {
		t.Fatalf("row after a refused connection: %+v", r)
	}
	if want := clock.Now().Add(time.Minute); r.NextAt == nil || !r.NextAt.Equal(want.Truncate(time.Microsecond)) {
		t.Fatalf("next attempt at %s, want %s (one Backoff on)", r.NextAt, want)
	}
	// Not due yet: no attempt.
	if _, err := w.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if r := onlyRow(t, pool); r.Attempts != 1 {
		t.Fatalf("attempted again before its time: %+v", r)
	}
	// Second failure doubles the wait.
	clock.Advance(time.Minute)
	must(t, errOf(w.DeliverDue(ctx)))
	r = onlyRow(t, pool)
	if want := clock.Now().Add(2 * time.Minute); r.Attempts != 2 || (r.NextAt == nil || !r.NextAt.Equal(want.Truncate(time.Microsecond))) {
		t.Fatalf("after a second failure: %+v, want attempts 2 and next at %s", r, want)
	}

	mp := testkit.Mailpit(t, testkit.MailpitSMTPPort(port))
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("sent %d (%v) before the retry was due", sent, err)
	}
	clock.Advance(2 * time.Minute)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 1 {
		t.Fatalf("sent %d (%v) once the server is up and the retry due, want 1", sent, err)
	}
	got := mp.WaitFor(t, "carol@example.org")
	if !strings.Contains(got.Text, signinLink) {
		t.Fatalf("text %q", got.Text)
	}
	r = onlyRow(t, pool)
	if r.Attempts != 3 || r.SentAt == nil || r.Text != "" {
		t.Fatalf("row after delivery: %+v", r)
	}
	clock.Advance(time.Hour)
	must(t, errOf(w.DeliverDue(ctx)))
	if n := len(mp.MessagesTo(t, "carol@example.org")); n != 1 {
		t.Fatalf("%d mails to carol, want 1", n)
	}
	if !strings.Contains(logs.String(), "retried later") {
		t.Fatalf("failed attempts not logged:\n%s", logs)
	}
	assertNoSecrets(t, logs.String(), "s3cr3t", "carol")
}

// Workers racing over the same outbox (replicas of a service) send each mail exactly once.
func TestRacingWorkersSendEachMailOnce(t *testing.T) {
	ctx := context.Background()
	pool := outboxPool(t)
	mp := testkit.Mailpit(t)
	const mails, workers = 24, 4
	for i := range mails {
		enqueue(t, pool, mail.Mail{To: "r" + itoa(i) + "@race.example.org", Subject: "Race " + itoa(i), Text: "hello " + itoa(i)})
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	sent := make([]int, workers)
	errs := make([]error, workers)
	for i := range workers {
		w := &mail.Worker{Pool: pool, Sender: mail.SMTP{URL: mp.SMTPURL()}, From: "no-reply@cop.example.org", Batch: 3}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sent[i], errs[i] = w.DeliverDue(ctx)
		}()
	}
	close(start)
	wg.Wait()
	total := 0
	for i := range workers {
		must(t, errs[i])
		total += sent[i]
	}
	// A worker stops when every row it fetched was taken by others, so a few may be left
	// to a next round: what matters is that none is sent twice.
	w := &mail.Worker{Pool: pool, Sender: mail.SMTP{URL: mp.SMTPURL()}, From: "no-reply@cop.example.org"}
	rest, err := w.DeliverDue(ctx)
	must(t, err)
	if total+rest != mails {
		t.Fatalf("workers report %d sent (+%d after), want %d", total, rest, mails)
	}
	for i := range mails {
		to := "r" + itoa(i) + "@race.example.org"
		mp.WaitFor(t, to)
		if n := len(mp.MessagesTo(t, to)); n != 1 {
			t.Errorf("%d mails to %s, want exactly 1", n, to)
		}
	}
	for _, r := range rows(t, pool) {
		if r.Attempts != 1 || r.SentAt == nil {
			t.Errorf("row %d: %+v, want sent at the first attempt", r.ID, r)
		}
	}
}

// Run sends a just-committed mail as soon as it is woken, long before its next poll.
func TestRunSendsAtOnceWhenWoken(t *testing.T) {
	pool := outboxPool(t)
	mp := testkit.Mailpit(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := &mail.Worker{Pool: pool, Sender: mail.SMTP{URL: mp.SMTPURL()}, From: "no-reply@cop.example.org", Poll: time.Hour}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	// The first round runs at start; a mail committed after it waits for a wake-up.
	enqueue(t, pool, mail.Mail{To: "first@example.org", Subject: "First", Text: "one"})
	w.Wake()
	mp.WaitFor(t, "first@example.org")
	enqueue(t, pool, mail.Mail{To: "dan@example.org", Subject: "Sign in", Text: signinLink})
	w.Wake()
	got := mp.WaitFor(t, "dan@example.org")
	if got.Subject != "Sign in" {
		t.Fatalf("got %+v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// A worker that cannot work says so at once.
	if err := (&mail.Worker{Pool: pool, Sender: mail.Dir{Path: t.TempDir()}, From: "not an address"}).Run(context.Background()); err == nil {
		t.Fatal("Run accepted an invalid From")
	}
}

// A recipient the server refuses for good is given up at once, and a mail that keeps
// failing is given up after MaxAttempts: both logged as errors, bodies blanked, the
// recipient's name kept out of the stored error.
func TestUndeliverableMailIsGivenUp(t *testing.T) {
	ctx := context.Background()
	pool := outboxPool(t)
	mp := testkit.Mailpit(t, testkit.MailpitArgs("--smtp-allowed-recipients", "@allowed\\.example\\.org$"))
	logger, logs := capturedLogger()
	clock := testkit.NewClock(time.Now())
	w := &mail.Worker{Pool: pool, Sender: mail.SMTP{URL: mp.SMTPURL()}, From: "no-reply@cop.example.org", Logger: logger, Now: clock.Now}
	enqueue(t, pool, mail.Mail{To: "erin@refused.example.org", Subject: "Sign in", Text: signinLink})
	enqueue(t, pool, mail.Mail{To: "frank@allowed.example.org", Subject: "Sign in", Text: signinLink})
	sent, err := w.DeliverDue(ctx)
	must(t, err)
	if sent != 1 {
		t.Fatalf("sent %d, want 1", sent)
	}
	mp.WaitFor(t, "frank@allowed.example.org")
	r := rows(t, pool)[0]
	if r.FailedAt == nil || r.SentAt != nil || r.Attempts != 1 || r.Text != "" || r.LastError == nil ||
		!strings.Contains(*r.LastError, "550") || strings.Contains(*r.LastError, "erin") {
		t.Fatalf("refused row: %+v (last error %v)", r, deref(r.LastError))
	}
	clock.Advance(48 * time.Hour)
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("a given-up mail was tried again: sent %d (%v)", sent, err)
	}

	// A server that stays away: given up after MaxAttempts.
	down := &mail.Worker{Pool: pool, Sender: mail.SMTP{URL: "smtp://127.0.0.1:" + itoa(testkit.FreePort(t))},
		From: "no-reply@cop.example.org", Logger: logger, Now: clock.Now, MaxAttempts: 3}
	enqueue(t, pool, mail.Mail{To: "gina@example.org", Subject: "Sign in", Text: signinLink})
	for range 5 {
		must(t, errOf(down.DeliverDue(ctx)))
		clock.Advance(2 * time.Hour)
	}
	r = rows(t, pool)[2]
	if r.FailedAt == nil || r.Attempts != 3 || r.Text != "" {
		t.Fatalf("row of a server that stays away: %+v", r)
	}
	if n := strings.Count(logs.String(), `"level":"ERROR","msg":"mail outbox: mail given up"`); n != 2 {
		t.Fatalf("%d mails logged as given up, want 2:\n%s", n, logs)
	}
	assertNoSecrets(t, logs.String(), "s3cr3t", "erin", "gina", "frank")
}

// Authentication over STARTTLS, and TLS from the first byte (smtps://), against a Mailpit
// that requires them.
func TestSMTPAuthenticatesOverTLS(t *testing.T) {
	ctx := context.Background()
	certFile, keyFile, roots := selfSignedCert(t)
	auth := t.TempDir() + "/passwords"
	must(t, writeFile(auth, "copnet:pa55word\n"))
	from := "no-reply@cop.example.org"

	starttls := testkit.Mailpit(t, testkit.MailpitArgs("--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile,
		"--smtp-require-starttls", "--smtp-auth-file", auth))
	plain := "smtp://copnet:pa55word@" + starttls.SMTPAddr
	tlsConf := roots
	must(t, mail.SMTP{URL: plain, TLSConfig: tlsConf}.Send(ctx, from, mail.Mail{To: "hana@example.org", Subject: "STARTTLS", Text: "hi"}))
	if got := starttls.WaitFor(t, "hana@example.org"); got.Subject != "STARTTLS" {
		t.Fatalf("got %+v", got)
	}
	// Without credentials the server refuses the sender: retried, not given up (it is
	// the operator's to fix).
	err := mail.SMTP{URL: "smtp://" + starttls.SMTPAddr, TLSConfig: tlsConf}.Send(ctx, from, mail.Mail{To: "hana@example.org", Subject: "x", Text: "x"})
	if err == nil || mail.IsPermanent(err) {
		t.Fatalf("unauthenticated send: %v (permanent %v), want a retryable refusal", err, mail.IsPermanent(err))
	}
	// A wrong password is refused too, and the error does not repeat it.
	err = mail.SMTP{URL: "smtp://copnet:wrong-pw@" + starttls.SMTPAddr, TLSConfig: tlsConf}.Send(ctx, from, mail.Mail{To: "hana@example.org", Subject: "x", Text: "x"})
	if err == nil || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("wrong password: %v", err)
	}
	// Without trusting the server's certificate, STARTTLS fails rather than going on in
	// the clear.
	err = mail.SMTP{URL: plain}.Send(ctx, from, mail.Mail{To: "hana@example.org", Subject: "x", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	if n := len(starttls.MessagesTo(t, "hana@example.org")); n != 1 {
		t.Fatalf("%d mails to hana, want 1", n)
	}

	implicit := testkit.Mailpit(t, testkit.MailpitArgs("--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-tls"))
	must(t, mail.SMTP{URL: "smtps://" + implicit.SMTPAddr, TLSConfig: tlsConf}.Send(ctx, from, mail.Mail{To: "ida@example.org", Subject: "smtps", Text: "hi"}))
	if got := implicit.WaitFor(t, "ida@example.org"); got.Subject != "smtps" {
		t.Fatalf("got %+v", got)
	}
}

// Enqueue refuses what could never be sent, naming each bad field.
func TestEnqueueValidates(t *testing.T) {
	ctx := context.Background()
	pool := outboxPool(t)
	err := mail.Enqueue(ctx, pool, mail.Mail{To: "not an address", Subject: "a\r\nBcc: evil@example.org", Text: " "})
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid {
		t.Fatalf("got %v, want an invalid-input error", err)
	}
	fields := map[string]bool{}
	for _, f := range ae.Fields {
		fields[f.Field] = true
	}
	if !fields["to"] || !fields["subject"] || !fields["text"] || len(fields) != 3 {
		t.Fatalf("fields %v, want to, subject and text", ae.Fields)
	}
	for _, to := range []string{"", "alice", "alice@", "<alice@example.org", "jürgen@example.org", "a@example.org, b@example.org"} {
		if err := mail.Enqueue(ctx, pool, mail.Mail{To: to, Subject: "s", Text: "t"}); err == nil {
			t.Errorf("To %q accepted", to)
		}
	}
	if n := len(rows(t, pool)); n != 0 {
		t.Fatalf("%d rows written by refused mails", n)
	}
}

// Erasing a person removes every mail to them, pending or sent, under any display name;
// Purge removes finished rows once they are old.
func TestEraseAndPurge(t *testing.T) {
	ctx := context.Background()
	pool := outboxPool(t)
	enqueue(t, pool, mail.Mail{To: "jo@example.org", Subject: "a", Text: "a"})
	enqueue(t, pool, mail.Mail{To: "Jo Bloggs <JO@example.org>", Subject: "b", Text: "b"})
	enqueue(t, pool, mail.Mail{To: "kim@example.org", Subject: "c", Text: "c"})
	n, err := mail.Erase(ctx, pool, "Jo <jo@example.org>")
	must(t, err)
	if rs := rows(t, pool); n != 2 || len(rs) != 1 || rs[0].To != "kim@example.org" {
		t.Fatalf("erased %d, left %+v", n, rs)
	}

	clock := testkit.NewClock(time.Now())
	w := &mail.Worker{Pool: pool, Sender: mail.Dir{Path: t.TempDir()}, From: "no-reply@cop.example.org", Now: clock.Now, Keep: 24 * time.Hour}
	must(t, errOf(w.DeliverDue(ctx)))
	must(t, w.Purge(ctx))
	if n := len(rows(t, pool)); n != 1 {
		t.Fatalf("a fresh sent row was purged")
	}
	clock.Advance(25 * time.Hour)
	must(t, w.Purge(ctx))
	if n := len(rows(t, pool)); n != 0 {
		t.Fatalf("%d rows left after Keep", n)
	}
}

// Migrate runs at every start, by replicas at once.
func TestMigrateTwiceAndConcurrently(t *testing.T) {
	pool, err := postgres.Open(context.Background(), testkit.PostgresURL(t), schema)
	must(t, err)
	t.Cleanup(pool.Close)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- mail.Migrate(context.Background(), pool) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	must(t, mail.Migrate(context.Background(), pool))
	enqueue(t, pool, mail.Mail{To: "a@example.org", Subject: "s", Text: "t"})
}

func errOf(_ int, err error) error { return err }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
