package mail_test

import (
	"bytes"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	copmail "github.com/copnet/copnet/pkg/mail"
)

// Compose writes a message any SMTP server carries unchanged and any reader decodes back.
func TestComposeWritesRFC5322(t *testing.T) {
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("AEDT", 11*3600))
	long := strings.Repeat("Réunion du groupe de travail ", 6)
	m := copmail.Mail{
		To:        "Zoë Ng <zoe@example.org>",
		Subject:   long,
		Text:      "Hello Zoë,\r\n\r\nyour link: " + signinLink + "\n" + strings.Repeat("x=", 100) + "\n.\nend",
		HTML:      "<p>Hello Zoë</p>",
		MessageID: "0123abcd@cop.example.org",
		Date:      date,
	}
	raw, err := copmail.Compose("copnet <no-reply@cop.example.org>", m)
	must(t, err)
	checkWire(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	must(t, err)
	for k, want := range map[string]string{
		"Message-Id":     "<0123abcd@cop.example.org>",
		"Date":           "Wed, 04 Mar 2026 05:06:07 +1100",
		"Mime-Version":   "1.0",
		"From":           "\"copnet\" <no-reply@cop.example.org>",
		"Auto-Submitted": "auto-generated",
	} {
		if got := msg.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if ct := msg.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative; boundary=") {
		t.Errorf("Content-Type %q", ct)
	}
	got, err := copmail.ReadMessage(raw)
	must(t, err)
	if got.Subject != long || got.To != "Zoë Ng <zoe@example.org>" || !got.Date.Equal(date) || got.MessageID != "0123abcd@cop.example.org" {
		t.Fatalf("read back %+v", got)
	}
	if want := "Hello Zoë,\n\nyour link: " + signinLink + "\n" + strings.Repeat("x=", 100) + "\n.\nend\n"; got.Text != want {
		t.Fatalf("text %q\nwant %q", got.Text, want)
	}
	if got.HTML != "<p>Hello Zoë</p>\n" {
		t.Fatalf("html %q", got.HTML)
	}

	// Text only: a single quoted-printable part.
	raw, err = copmail.Compose("no-reply@cop.example.org", copmail.Mail{To: "a@example.org", Subject: "=?utf-8?q?fake?=", Text: "plain"})
	must(t, err)
	checkWire(t, raw)
	if !bytes.Contains(raw, []byte("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n")) {
		t.Fatalf("text-only message:\n%s", raw)
	}
	got, err = copmail.ReadMessage(raw)
	must(t, err)
	if got.Subject != "=?utf-8?q?fake?=" || got.Text != "plain\n" || got.MessageID == "" || !strings.HasSuffix(got.MessageID, "@cop.example.org") {
		t.Fatalf("read back %+v", got)
	}

	for name, bad := range map[string]copmail.Mail{
		"header injection": {To: "a@example.org", Subject: "hi\r\nBcc: x@example.org", Text: "t"},
		"two recipients":   {To: "a@example.org, b@example.org", Subject: "s", Text: "t"},
		"bad message id":   {To: "a@example.org", Subject: "s", Text: "t", MessageID: "a>b"},
	} {
		if _, err := copmail.Compose("no-reply@cop.example.org", bad); err == nil || !copmail.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
	if _, err := copmail.Compose("not an address", copmail.Mail{To: "a@example.org", Subject: "s", Text: "t"}); err == nil {
		t.Error("invalid sender accepted")
	}
}

// checkWire fails unless every line of raw is 7-bit, at most 998 characters (RFC 5322 2.1.1),
// and ends in CRLF.
func checkWire(t *testing.T, raw []byte) {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Fatalf("message does not end in CRLF")
	}
	for i, line := range bytes.Split(raw[:len(raw)-2], []byte("\r\n")) {
		if len(line) > 998 {
			t.Fatalf("line %d is %d characters long", i+1, len(line))
		}
		for _, b := range line {
			if b >= 0x80 || b == '\r' || b == '\n' || b == 0 {
				t.Fatalf("line %d has byte %#x: %q", i+1, b, line)
			}
		}
	}
}

// Every mail Enqueue would accept survives Compose and ReadMessage: subject and bodies come
// back as written (line ends as LF), on lines fit for SMTP.
func FuzzComposeRoundTrip(f *testing.F) {
	f.Add("Sign in", "Your link: https://cop.example.org/s?t=1\n", "")
	f.Add("Votre lien — copnet ✓", "a\r\nb\rc", "<p>é</p>")
	f.Add(" =?utf-8?q?x?= ", strings.Repeat("é", 300), "=")
	f.Add(strings.Repeat("日本", 100), ".\n..\nFrom x\n", "\r")
	f.Fuzz(func(t *testing.T, subject, text, html string) {
		m := copmail.Mail{To: "a@example.org", Subject: subject, Text: text, HTML: html, MessageID: "id@example.org"}
		if m.Validate() != nil {
			return
		}
		raw, err := copmail.Compose("no-reply@example.org", m)
		if err != nil {
			t.Fatalf("Compose refused a valid mail: %v", err)
		}
		checkWire(t, raw)
		got, err := copmail.ReadMessage(raw)
		if err != nil {
			t.Fatalf("ReadMessage: %v\n%s", err, raw)
		}
		if got.Subject != subject {
			t.Fatalf("subject %q came back as %q\n%s", subject, got.Subject, raw)
		}
		if want := lf(text); got.Text != want {
			t.Fatalf("text %q came back as %q", want, got.Text)
		}
		if html != "" && got.HTML != lf(html) {
			t.Fatalf("html %q came back as %q", lf(html), got.HTML)
		}
	})
}

// lf is s with the line ends a reader gets back: LF, and one at the end.
func lf(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// The .eml reader takes files from a data directory: outside input. It must not panic or
// run away on any of them.
func FuzzReadMessage(f *testing.F) {
	raw, _ := copmail.Compose("no-reply@example.org", copmail.Mail{To: "a@example.org", Subject: "Sign in ✓", Text: "t", HTML: "<b>h</b>"})
	f.Add(raw)
	raw, _ = copmail.Compose("no-reply@example.org", copmail.Mail{To: "a@example.org", Subject: "s", Text: "only text"})
	f.Add(raw)
	f.Add([]byte("Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--c--\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: text/plain; charset=iso-8859-1\r\n\r\n\xe9"))
	f.Add([]byte("Content-Type: multipart/alternative\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := copmail.ReadMessage(raw)
		if err != nil {
			return
		}
		if len(s.Text) > len(raw)*2+16 || len(s.HTML) > len(raw)*2+16 {
			t.Fatalf("decoded bodies larger than their message: %d, %d from %d bytes", len(s.Text), len(s.HTML), len(raw))
		}
	})
}

// COPNET_SMTP_URL is outside input: any string gives a usable config or an error that does
// not repeat the password.
func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range []string{"smtp://mail.example.org", "smtps://u:p@h:465", "smtp://u%40x:p%3Aw@[::1]:2525/", "smtp://h:99999", "smtp://:p@h", "smtp://u:p%0a@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := copmail.ParseSMTPURL(raw)
		if err != nil {
			if u, perr := url.Parse(raw); perr == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && len(p) >= 4 && strings.Contains(err.Error(), p) {
					t.Fatalf("error %q repeats the password", err)
				}
			}
			return
		}
		if c.Host == "" || c.Port == "" || strings.ContainsAny(c.Host, " \r\n/") || strings.ContainsAny(c.Username+c.Password, "\r\n\x00") {
			t.Fatalf("%q parsed as %+v", raw, c)
		}
		if c.Password != "" && c.Username == "" {
			t.Fatalf("%q: password without user", raw)
		}
		if _, err := copmail.ParseSMTPURL(raw); err != nil {
			t.Fatalf("not deterministic: %v", err)
		}
	})
}
