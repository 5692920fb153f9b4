//go:build linux

package testkit

import (
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A mail handed to Mailpit over SMTP is read back whole through its API: the exact
// recipient only (Mailpit's own search matches substrings), its body with LF line ends.
func TestMailpitReceivesAndShowsMail(t *testing.T) {
	mp := Mailpit(t)
	if !strings.HasPrefix(mp.SMTPURL(), "smtp://127.0.0.1:") {
		t.Fatalf("SMTPURL %q", mp.SMTPURL())
	}
	send := func(to, subject, body string) {
		t.Helper()
		msg := "From: copnet@example.org\r\nTo: " + to + "\r\nSubject: " + subject +
			"\r\nMessage-ID: <" + subject + "@example.org>\r\n\r\n" + body
		if err := smtp.SendMail(mp.SMTPAddr, nil, "copnet@example.org", []string{to}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	send("malice@example.org", "other", "not for alice\r\n")
	send("alice@example.org", "hello", "line one\r\nhttps://cop.example.org/signin?token=abc\r\n")

	got := mp.WaitFor(t, "Alice <alice@example.org>")
	if got.Subject != "hello" || got.MessageID != "hello@example.org" || got.From != "copnet@example.org" ||
		len(got.To) != 1 || got.To[0] != "alice@example.org" {
		t.Fatalf("got %+v", got)
	}
	if got.Text != "line one\nhttps://cop.example.org/signin?token=abc\n" {
		t.Fatalf("text %q: want LF line ends", got.Text)
	}
	if n := len(mp.MessagesTo(t, "alice@example.org")); n != 1 {
		t.Fatalf("%d mails to alice, want 1 (malice's is not hers)", n)
	}
	if n := len(mp.MessagesTo(t, "MALICE@example.org")); n != 1 {
		t.Fatalf("%d mails to malice, want 1", n)
	}
	if n := len(mp.MessagesTo(t, "bob@example.org")); n != 0 {
		t.Fatalf("%d mails to bob, want none", n)
	}
}

// WaitFor fails the test, saying what Mailpit does hold, when the mail never comes.
func TestMailpitWaitForFailsWithWhatArrived(t *testing.T) {
	mp := Mailpit(t)
	msg := "From: a@example.org\r\nTo: carol@example.org\r\nSubject: for carol\r\n\r\nhi\r\n"
	if err := smtp.SendMail(mp.SMTPAddr, nil, "a@example.org", []string{"carol@example.org"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	mp.WaitFor(t, "carol@example.org")
	defer func(d time.Duration) { mailWait = d }(mailWait)
	mailWait = 200 * time.Millisecond
	rec := &recordingTB{TB: t}
	mp.WaitFor(rec, "dave@example.org")
	if !rec.failed || !strings.Contains(rec.msg, "dave@example.org") || !strings.Contains(rec.msg, "for carol") {
		t.Fatalf("failed=%v, message %q: should name the awaited address and what did arrive", rec.failed, rec.msg)
	}
}

// scripts/mailpit.sh, which runs Mailpit by hand, builds the version the tests use, into
// the same place.
func TestMailpitScriptBuildsTheTestsVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "mailpit.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nversion=" + MailpitVersion + " ", "/copnet/bin/mailpit-$version", MailpitModule + "@$version"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("scripts/mailpit.sh lacks %q", want)
		}
	}
}
