package mail_test

import (
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/mail"
)

// config.Load reads the mail settings and reports every problem, never the password.
func TestSettingsLoadAndValidate(t *testing.T) {
	t.Setenv("COPNET_SMTP_URL", "smtp://copnet:hunter2@mail.example.org:587")
	t.Setenv("COPNET_MAIL_FROM", "copnet <no-reply@cop.example.org>")
	var s mail.Settings
	must(t, config.Load(&s))
	if _, ok := s.Sender(t.TempDir()).(mail.SMTP); !ok || s.FromAddress() != "copnet <no-reply@cop.example.org>" {
		t.Fatalf("settings %+v give sender %T", s, s.Sender(""))
	}
	if d := s.Describe("", ""); strings.Contains(d, "hunter2") || !strings.Contains(d, "smtp://mail.example.org:587") {
		t.Fatalf("Describe %q", d)
	}
	must(t, s.RequireSMTP())

	for _, c := range []struct {
		url, from string
		want      []string
	}{
		{"http://mail.example.org", "a@example.org", []string{"COPNET_SMTP_URL", "smtp://"}},
		{"smtp://copnet:hunter2@mail.example.org:99999", "a@example.org", []string{"COPNET_SMTP_URL", "port"}},
		{"smtp://copnet:hunter2@:25", "a@example.org", []string{"COPNET_SMTP_URL", "host"}},
		{"smtp://copnet:hunter2@mail.example.org/x?y=z", "a@example.org", []string{"COPNET_SMTP_URL"}},
		{"smtp://:hunter2@mail.example.org", "a@example.org", []string{"COPNET_SMTP_URL", "user"}},
		{"smtp://mail.example.org", "", []string{"COPNET_MAIL_FROM is required"}},
		{"smtp://mail.example.org", "no-reply", []string{"COPNET_MAIL_FROM"}},
		{"", "a@b@c", []string{"COPNET_MAIL_FROM"}},
		{"ftp://copnet:hunter2@x", "not an address", []string{"COPNET_SMTP_URL", "COPNET_MAIL_FROM"}},
	} {
		t.Setenv("COPNET_SMTP_URL", c.url)
		t.Setenv("COPNET_MAIL_FROM", c.from)
		err := config.Load(&mail.Settings{})
		if err == nil {
			t.Errorf("%q, %q accepted", c.url, c.from)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q, %q: error %q does not mention %q", c.url, c.from, err, w)
			}
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error repeats the password: %v", err)
		}
	}

	// No SMTP: the all-in-one keeps mail in its data directory and says where.
	t.Setenv("COPNET_SMTP_URL", "")
	t.Setenv("COPNET_MAIL_FROM", "")
	s = mail.Settings{}
	must(t, config.Load(&s))
	dir, ok := s.Sender("/var/lib/copnet").(mail.Dir)
	if !ok || dir.Path != "/var/lib/copnet/mail" || s.FromAddress() != mail.DefaultFrom {
		t.Fatalf("without SMTP: sender %#v, from %q", s.Sender("/var/lib/copnet"), s.FromAddress())
	}
	if d := s.Describe("/var/lib/copnet", "http://127.0.0.1:8080/mail"); !strings.Contains(d, "/var/lib/copnet/mail") ||
		!strings.Contains(d, "http://127.0.0.1:8080/mail") || !strings.Contains(d, "COPNET_SMTP_URL") {
		t.Fatalf("Describe %q", d)
	}
	if err := s.RequireSMTP(); err == nil || !strings.Contains(err.Error(), "COPNET_SMTP_URL") {
		t.Fatalf("RequireSMTP: %v", err)
	}
	if v := config.Vars(mail.Settings{}); len(v) != 2 || v["COPNET_SMTP_URL"] || v["COPNET_MAIL_FROM"] {
		t.Fatalf("Vars %v", v)
	}
}

func TestParseSMTPURL(t *testing.T) {
	for raw, want := range map[string]mail.SMTPConfig{
		"smtp://mail.example.org":                 {Host: "mail.example.org", Port: "25"},
		"smtp://mail.example.org:587/":            {Host: "mail.example.org", Port: "587"},
		"smtps://mail.example.org":                {Host: "mail.example.org", Port: "465", ImplicitTLS: true},
		"smtp://u%40x:p%3Aw@[::1]:2525":           {Host: "::1", Port: "2525", Username: "u@x", Password: "p:w"},
		"smtp://apikey@smtp.example.org:0587":     {Host: "smtp.example.org", Port: "587", Username: "apikey"},
		"smtps://user:@smtp.example.org:465":      {Host: "smtp.example.org", Port: "465", ImplicitTLS: true, Username: "user"},
		"smtp://127.0.0.1:1025":                   {Host: "127.0.0.1", Port: "1025"},
		"smtp://copnet:pa55@mail.example.org:587": {Host: "mail.example.org", Port: "587", Username: "copnet", Password: "pa55"},
	} {
		got, err := mail.ParseSMTPURL(raw)
		if err != nil || got != want {
			t.Errorf("%s: got %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, raw := range []string{"", "mail.example.org:25", "smtp:mail.example.org", "smtp://", "smtp://:25",
		"smtp://h:0", "smtp://h:x", "smtp://h:", "smtp://h/path", "smtp://h?tls=1", "smtp://h#f", "smtp://h?",
		"submission://h", "smtp://%zz", "smtp://u:p%0d%0a@h"} {
		if c, err := mail.ParseSMTPURL(raw); err == nil {
			t.Errorf("%q accepted as %+v", raw, c)
		}
	}
}
