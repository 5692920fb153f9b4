package mail_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/mail"
)

// Without SMTP, the worker keeps each mail as a private .eml file, once, and the loopback
// page shows it with its link clickable and everything escaped.
func TestDirKeepsMailForTheLoopbackPage(t *testing.T) {
	ctx := context.Background()
	pool := outboxPool(t)
	dir := mail.Dir{Path: filepath.Join(t.TempDir(), "data", "mail")}
	logger, logs := capturedLogger()
	w := &mail.Worker{Pool: pool, Sender: dir, From: mail.DefaultFrom, Logger: logger}
	enqueue(t, pool, mail.Mail{
		To:      "Lee <lee@example.org>",
		Subject: "Sign in <b>now</b> ✓",
		Text:    "Your link: " + signinLink + ".\n<script>alert(1)</script>\n",
		HTML:    `<p><a href="` + signinLink + `">Sign in</a></p>`,
	})
	if sent, err := w.DeliverDue(ctx); err != nil || sent != 1 {
		t.Fatalf("sent %d (%v)", sent, err)
	}
	fi, err := os.Stat(dir.Path)
	must(t, err)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("mail dir mode %v, want 0700", fi.Mode().Perm())
	}
	files, err := filepath.Glob(filepath.Join(dir.Path, "*"))
	must(t, err)
	if len(files) != 1 || !strings.HasSuffix(files[0], ".eml") {
		t.Fatalf("files %v, want one .eml", files)
	}
	fi, err = os.Stat(files[0])
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mail file mode %v, want 0600", fi.Mode().Perm())
	}

	list, err := dir.List()
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("List: %d mails", len(list))
	}
	got := list[0]
	if got.Subject != "Sign in <b>now</b> ✓" || got.To != "\"Lee\" <lee@example.org>" || got.From != `"copnet" <copnet@localhost>` ||
		!strings.Contains(got.Text, signinLink) || !strings.Contains(got.HTML, signinLink) || got.Date.IsZero() {
		t.Fatalf("read back %+v", got)
	}
	r := onlyRow(t, pool)
	if got.MessageID != r.MessageID+"@localhost" || r.Text != "" {
		t.Fatalf("Message-ID %q for row %+v", got.MessageID, r)
	}

	// A mail sent again (the crash window) replaces its file.
	again := mail.Mail{To: "lee@example.org", Subject: "again", Text: "x", MessageID: "resend@localhost", Date: got.Date}
	must(t, dir.Send(ctx, mail.DefaultFrom, again))
	must(t, dir.Send(ctx, mail.DefaultFrom, again))
	if list, err := dir.List(); err != nil || len(list) != 2 {
		t.Fatalf("after resending: %+v (%v), want the original and one resent mail", list, err)
	}
	must(t, dir.Send(ctx, mail.DefaultFrom, mail.Mail{To: "lee@example.org", Subject: "Later", Text: "second", Date: got.Date.Add(time.Minute)}))
	// A file that is not a mail is reported, not fatal.
	must(t, os.WriteFile(filepath.Join(dir.Path, "broken.eml"), []byte("Content-Type: multipart/mixed\r\n\r\nx"), 0o600))
	list, err = dir.List()
	if len(list) != 3 || list[0].Subject != "Later" || err == nil || !strings.Contains(err.Error(), "broken.eml") {
		t.Fatalf("List newest first with the broken file named: %+v, %v", list, err)
	}

	page := mail.LoopbackPage(dir)
	for _, remote := range []string{"127.0.0.1:50000", "[::1]:50000", "[::ffff:127.0.0.1]:50000"} {
		req := httptest.NewRequest(http.MethodGet, "/mail", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s", remote, rec.Code, body)
		}
		for _, want := range []string{
			`<a href="https://cop.example.org/signin?token=s3cr3t-t0ken-a1b2c3" rel="noreferrer noopener">https://cop.example.org/signin?token=s3cr3t-t0ken-a1b2c3</a>.`,
			"Sign in &lt;b&gt;now&lt;/b&gt; ✓",
			"&lt;script&gt;alert(1)&lt;/script&gt;",
			"Later",
			"again",
			"broken.eml",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %q:\n%s", remote, want, body)
			}
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "<b>now") {
			t.Fatalf("page shows mail content unescaped:\n%s", body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("headers %v", rec.Header())
		}
	}
	for name, req := range map[string]*http.Request{
		"another machine":      withRemote(httptest.NewRequest(http.MethodGet, "/mail", nil), "192.0.2.7:40000"),
		"a LAN address":        withRemote(httptest.NewRequest(http.MethodGet, "/mail", nil), "10.1.2.3:40000"),
		"no port":              withRemote(httptest.NewRequest(http.MethodGet, "/mail", nil), "127.0.0.1"),
		"through a proxy":      withHeader(withRemote(httptest.NewRequest(http.MethodGet, "/mail", nil), "127.0.0.1:40000"), "X-Forwarded-For", "192.0.2.7"),
		"through a proxy (v2)": withHeader(withRemote(httptest.NewRequest(http.MethodGet, "/mail", nil), "127.0.0.1:40000"), "Forwarded", "for=192.0.2.7"),
	} {
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: %d %s %s", name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		var p struct {
			Type   string
			Status int
		}
		must(t, json.Unmarshal(rec.Body.Bytes(), &p))
		if p.Status != http.StatusForbidden || !strings.HasSuffix(p.Type, "/forbidden") || strings.Contains(rec.Body.String(), "s3cr3t") {
			t.Fatalf("%s: problem %s", name, rec.Body)
		}
	}
	req := withRemote(httptest.NewRequest(http.MethodPost, "/mail", nil), "127.0.0.1:1")
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
	assertNoSecrets(t, logs.String(), "s3cr3t", "lee@")
}

// A page over a directory not made yet says there is no mail.
func TestLoopbackPageWithoutMail(t *testing.T) {
	rec := httptest.NewRecorder()
	mail.LoopbackPage(mail.Dir{Path: filepath.Join(t.TempDir(), "none")}).ServeHTTP(rec, withRemote(httptest.NewRequest(http.MethodGet, "/", nil), "127.0.0.1:9"))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No mail yet") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func withRemote(r *http.Request, addr string) *http.Request { r.RemoteAddr = addr; return r }

func withHeader(r *http.Request, k, v string) *http.Request { r.Header.Set(k, v); return r }
