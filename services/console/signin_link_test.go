package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console"
)

// signinLink makes the link `copnet link` prints, for the node's own secret.
func signinLink(t *testing.T, secret []byte, base string, c httpx.Claims) string {
	t.Helper()
	link, err := console.SigninLink(secret, base, c, console.SigninLinkTTL)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// hiddenField reads a hidden form field's value from a page.
func hiddenField(t *testing.T, body, name string) string {
	t.Helper()
	marker := `name="` + name + `" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("page has no hidden field %q:\n%s", name, body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestSigninLinkWorksOnce: opening a link changes nothing; its Continue button (a CSRF-checked
// post) signs the browser in once; the same link is then refused, on the page and on the post,
// for every browser.
func TestSigninLinkWorksOnce(t *testing.T) {
	n := startConsole(t)
	twoRegions(t, n)
	link := signinLink(t, n.Secret, n.URL, httpx.Claims{Subject: "operator", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	path := strings.TrimPrefix(link, n.URL)
	if strings.Contains(link, "token=") || strings.Count(path, ".") != 1 {
		t.Fatalf("link %s should carry a two-part ticket, not a token", link)
	}

	b := newBrowser(t, n.URL)
	page := b.get(path)
	if page.status != http.StatusOK || !strings.Contains(page.body, "national secretariat") || !strings.Contains(page.body, ">Continue<") {
		t.Fatalf("GET link: %d\n%s", page.status, page.body)
	}
	if c := setCookieNamed(page.header, "copnet_session"); c != nil || b.cookie("copnet_session") != "" {
		t.Fatalf("opening the link set a session cookie %+v", c)
	}
	// Opening it again before using it still works and still signs nobody in.
	if again := b.get(path); again.status != http.StatusOK || b.cookie("copnet_session") != "" {
		t.Fatalf("second GET before use: %d, session %q", again.status, b.cookie("copnet_session"))
	}
	ticket := hiddenField(t, page.body, "t")

	// Without the page's CSRF token the post is refused and the link stays unused.
	if res := b.post("/signin/link", url.Values{"t": {ticket}}, nil); res.status != http.StatusForbidden || b.cookie("copnet_session") != "" {
		t.Fatalf("post without CSRF: %d, session %q", res.status, b.cookie("copnet_session"))
	}

	res := b.post("/signin/link", url.Values{"t": {ticket}, "csrf": {hiddenField(t, page.body, "csrf")}}, nil)
	session := setCookieNamed(res.header, "copnet_session")
	if res.status != http.StatusOK || session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("Continue: %d, session cookie %+v\n%s", res.status, session, res.body)
	}
	if until := time.Until(session.Expires); until <= 0 || until > 13*time.Hour {
		t.Errorf("session from a link expires in %s, want within the session's 12 hours", until)
	}
	if p := b.get("/"); p.status != http.StatusOK || !strings.Contains(p.body, "National network") {
		t.Errorf("signed in by the link, GET /: %d", p.status)
	}

	// Used: the same browser and another one are both refused, and nobody gets a cookie.
	other := newBrowser(t, n.URL)
	for name, br := range map[string]*browser{"same browser": b, "other browser": other} {
		p := br.get(path)
		if p.status != http.StatusGone || !strings.Contains(p.body, "already been used") || strings.Contains(p.body, ">Continue<") {
			t.Errorf("%s opening a used link: %d\n%s", name, p.status, p.body)
		}
	}
	other.get("/signin")
	reuse := other.post("/signin/link", url.Values{"t": {ticket}, "csrf": {other.cookie("copnet_csrf")}}, nil)
	if reuse.status != http.StatusGone || !strings.Contains(reuse.body, "already been used") || other.cookie("copnet_session") != "" {
		t.Errorf("second use: %d, session %q\n%s", reuse.status, other.cookie("copnet_session"), reuse.body)
	}
}

// TestSigninGetNeverSignsIn: no GET sets a session cookie, neither the old ?token= link
// (login CSRF) nor a sign-in link; a bearer token is no ticket and a forged ticket is refused.
func TestSigninGetNeverSignsIn(t *testing.T) {
	n := startConsole(t)
	tok := national(t, n)
	b := newBrowser(t, n.URL)
	forged := signinLink(t, []byte("another node's secret, not this one"), n.URL, httpx.Claims{Subject: "x", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	cases := []struct {
		path   string
		status int
	}{
		{"/signin?token=" + url.QueryEscape(tok), http.StatusOK},
		{"/signin/link?t=" + url.QueryEscape(tok), http.StatusBadRequest},
		{"/signin/link?token=" + url.QueryEscape(tok), http.StatusBadRequest},
		{strings.TrimPrefix(forged, n.URL), http.StatusBadRequest},
		{strings.TrimPrefix(signinLink(t, n.Secret, n.URL, httpx.Claims{Subject: "h", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "north"}}}), n.URL), http.StatusOK},
	}
	for _, c := range cases {
		res := b.get(c.path)
		if res.status != c.status || setCookieNamed(res.header, "copnet_session") != nil || b.cookie("copnet_session") != "" {
			t.Errorf("GET %s: %d (want %d), session %q", c.path, res.status, c.status, b.cookie("copnet_session"))
		}
	}
	// A bearer token posted as a ticket is refused as well.
	res := b.post("/signin/link", url.Values{"t": {tok}, "csrf": {b.cookie("copnet_csrf")}}, nil)
	if res.status != http.StatusBadRequest || b.cookie("copnet_session") != "" {
		t.Errorf("POST a bearer token as a ticket: %d, session %q", res.status, b.cookie("copnet_session"))
	}
}

func setCookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
