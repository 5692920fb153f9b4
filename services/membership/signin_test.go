package membership_test

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/membership"
)

// startMailNode boots membership on a node whose mail goes to a real Mailpit, logging at
// debug level into logs.
func startMailNode(t *testing.T, settings map[string]string) (*env, *testkit.MailpitServer, *testkit.LogBuffer) {
	t.Helper()
	mp := testkit.Mailpit(t)
	t.Setenv("COPNET_SMTP_URL", mp.SMTPURL())
	t.Setenv("COPNET_MAIL_FROM", "copnet <no-reply@copnet.example>")
	for k, v := range settings {
		t.Setenv(k, v)
	}
	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	n := testkit.StartNode(t, testkit.NodeOptions{Now: c.Now, Logger: logger}, membership.Factory)
	return &env{t: t, n: n, clock: c}, mp, logs
}

// noRedirects is a client that shows each redirect to the test.
var noRedirects = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var linkInMail = regexp.MustCompile(`https?://\S+/auth/link\?t=\S+`)

// mailedLink waits for the newest sign-in mail to addr and returns its link.
func mailedLink(t *testing.T, mp *testkit.MailpitServer, addr string, count int) string {
	t.Helper()
	var msgs []testkit.MailpitMessage
	testkit.EventuallyTrue(t, waitFor, func() bool {
		msgs = mp.MessagesTo(t, addr)
		return len(msgs) >= count
	}, "the sign-in mail did not arrive")
	m := mp.Message(t, msgs[0].ID)
	link := linkInMail.FindString(m.Text)
	if link == "" {
		t.Fatalf("no sign-in link in the mail %q:\n%s", m.Subject, m.Text)
	}
	return link
}

func cookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func getNoFollow(t *testing.T, u string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // draining
	resp.Body.Close()
	return resp
}

// TestSignInByEmailLink walks the e-mail link as a person does, and tries what an attacker
// would: learn who has an account, reuse or outlive a link, read it from the database or
// the logs, keep using a session after signing out everywhere.
func TestSignInByEmailLink(t *testing.T) {
	e, mp, logs := startMailNode(t, nil)
	const known = "aroha@health.example"
	e.must(http.StatusCreated, nil, e.national(), "POST", "/v1/people", js(map[string]string{"name": "Aroha Smith", "email": known}))

	// Known or not, the answer is the same.
	var answers []string
	for _, addr := range []string{known, "nobody-yet@elsewhere.example"} {
		r := e.do("", "POST", "/auth/email", js(map[string]string{"email": addr, "next": "/cops/abc?tab=members"}))
		if r.status != http.StatusAccepted {
			t.Fatalf("%s", r)
		}
		answers = append(answers, string(r.body))
	}
	if answers[0] != answers[1] {
		t.Errorf("known and unknown addresses answered differently: %q vs %q", answers[0], answers[1])
	}
	if r := e.do("", "POST", "/auth/email", js(map[string]string{"email": "not an address"})); r.status != http.StatusBadRequest {
		t.Errorf("a malformed address: %s", r)
	}
	// A form post without the sign-in page's CSRF token is refused.
	resp, err := noRedirects.PostForm(e.n.URL+"/auth/email", url.Values{"email": {known}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("form post without CSRF: %d", resp.StatusCode)
	}

	link := mailedLink(t, mp, known, 1)
	secret := strings.TrimPrefix(link[strings.Index(link, "?t="):], "?t=")
	secret, _ = url.QueryUnescape(secret)

	// The database keeps only the hash: a database reader holds no usable link.
	var rows []string
	pool := e.n.Pool("membership")
	r, err := pool.Query(t.Context(), `SELECT encode(hash, 'hex') || ' ' || email || ' ' || next FROM signin_links`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, s)
	}
	r.Close()
	sum := sha256.Sum256([]byte(secret))
	found := false
	for _, row := range rows {
		if strings.Contains(row, secret) {
			t.Errorf("signin_links holds the link's secret: %q", row)
		}
		found = found || strings.HasPrefix(row, hexOf(sum[:]))
	}
	if !found {
		t.Errorf("no row holds the link's hash among %q", rows)
	}

	// Opening the link signs in and goes where the person was going.
	opened := getNoFollow(t, link)
	if opened.StatusCode != http.StatusSeeOther || opened.Header.Get("Location") != "/cops/abc?tab=members" {
		t.Fatalf("opening the link: %d → %q", opened.StatusCode, opened.Header.Get("Location"))
	}
	session, accessCk := cookieOf(opened, httpx.SessionCookie), cookieOf(opened, httpx.AccessCookie)
	for _, c := range []*http.Cookie{session, accessCk} {
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Fatalf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/", c)
		}
	}
	var me struct {
		Person struct{ ID, Email string }
		Grants []httpx.Grant
	}
	e.must(http.StatusOK, &me, accessCk.Value, "GET", "/v1/me", "")
	if me.Person.Email != known || me.Person.ID == "" {
		t.Errorf("/v1/me after the link: %+v", me)
	}

	// A link works once.
	if again := getNoFollow(t, link); again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != "/signin?error=link" ||
		cookieOf(again, httpx.SessionCookie) != nil {
		t.Errorf("the link reused: %d → %q", again.StatusCode, again.Header.Get("Location"))
	}
	// And for 15 minutes.
	e.do("", "POST", "/auth/email", js(map[string]string{"email": known}))
	late := mailedLink(t, mp, known, 2)
	e.clock.Advance(16 * time.Minute)
	if r := getNoFollow(t, late); r.Header.Get("Location") != "/signin?error=link" {
		t.Errorf("a link after 16 minutes: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}

	// The session gives a fresh access token.
	fresh := getNoFollow(t, e.n.URL+"/auth/refresh?next=%2Faccount", session)
	if fresh.StatusCode != http.StatusSeeOther || fresh.Header.Get("Location") != "/account" || cookieOf(fresh, httpx.AccessCookie) == nil {
		t.Fatalf("refresh: %d → %q", fresh.StatusCode, fresh.Header.Get("Location"))
	}

	// Sign out everywhere: the session ends and every token stops, at every service.
	csrf := &http.Cookie{Name: httpx.CSRFCookie, Value: strings.Repeat("c", 43)}
	req, _ := http.NewRequest(http.MethodPost, e.n.URL+"/auth/signout-everywhere", strings.NewReader(url.Values{"csrf": {csrf.Value}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	req.AddCookie(cookieOf(fresh, httpx.AccessCookie))
	out, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if out.StatusCode != http.StatusSeeOther || out.Header.Get("Location") != "/signin?signedout=everywhere" {
		t.Fatalf("sign out everywhere: %d → %q", out.StatusCode, out.Header.Get("Location"))
	}
	testkit.EventuallyTrue(t, waitFor, func() bool {
		return e.do(accessCk.Value, "GET", "/v1/me", "").status == http.StatusUnauthorized
	}, "the access token still works after signing out everywhere")
	if r := getNoFollow(t, e.n.URL+"/auth/refresh?next=%2F", session); !strings.HasPrefix(r.Header.Get("Location"), "/signin?") {
		t.Errorf("refresh after signing out everywhere: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}

	// Erasure takes the mail to the person and their links with it.
	e.must(http.StatusNoContent, nil, e.national(), "DELETE", "/v1/people/"+me.Person.ID, "")
	var left int
	if err := pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM mail_outbox WHERE to_addr ILIKE $1) +
		(SELECT count(*) FROM signin_links WHERE email ILIKE $1)`, known).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d mails or links to %s outlived the person's erasure", left, known)
	}

	// Nothing secret reached the logs.
	all := logs.String()
	for what, s := range map[string]string{"link secret": secret, "access token": accessCk.Value, "session": session.Value} {
		if strings.Contains(all, s) {
			t.Errorf("the logs hold the %s", what)
		}
	}
	if !strings.Contains(all, "mail") {
		t.Errorf("the logs are empty, so the check above proves nothing:\n%.400s", all)
	}
}

// TestInvitationOnlyNodeRegistersNobodyBySignIn: with self-registration closed, an unknown
// address gets no mail and no account, while the answer stays the same.
func TestInvitationOnlyNodeRegistersNobodyBySignIn(t *testing.T) {
	e, mp, _ := startMailNode(t, map[string]string{"COPNET_MEMBERSHIP_SELF_REGISTRATION": "false"})
	const known = "kept@health.example"
	e.must(http.StatusCreated, nil, e.national(), "POST", "/v1/people", js(map[string]string{"name": "Kept", "email": known}))
	for _, addr := range []string{"stranger@elsewhere.example", known} {
		if r := e.do("", "POST", "/auth/email", js(map[string]string{"email": addr})); r.status != http.StatusAccepted {
			t.Fatalf("%s", r)
		}
	}
	mailedLink(t, mp, known, 1)
	var queued int
	if err := e.n.Pool("membership").QueryRow(t.Context(), `SELECT count(*) FROM mail_outbox WHERE to_addr ILIKE '%stranger%'`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 0 || len(mp.MessagesTo(t, "stranger@elsewhere.example")) != 0 {
		t.Errorf("an unknown address got %d queued mails on an invitation-only node", queued)
	}
	if r := e.do("", "POST", "/v1/people", js(map[string]string{"name": "Walk In", "email": "walkin@elsewhere.example"})); r.status != http.StatusForbidden {
		t.Errorf("self-registration on an invitation-only node: %s", r)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// js is v as a JSON body.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
