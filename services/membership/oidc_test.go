package membership_test

// Signing in with the organisation's OpenID provider, as people do it: a real provider
// (pkg/testkit/oidcprovider, zitadel's OpenID provider) with copnet registered as a
// confidential client, a node running the registry, membership and the console (whose
// /signin page offers the provider), and real Chromium clicking through the console's
// pages and the provider's sign-in page. axe-core checks copnet's own pages at a phone's
// and a desktop's width; screenshots go to testdata/artifacts for people to look at.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/pkg/testkit/oidcprovider"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
)

// copnet's registration at the provider.
const (
	oidcClientID     = "copnet-web"
	oidcClientSecret = "client-secret-only-the-node-knows"
)

// oidcNode is a node whose people may sign in at a provider.
type oidcNode struct {
	*env
	p   *oidcprovider.Provider
	log *testkit.LogBuffer
	// secrets collects what must never be logged: codes, states, cookies, passwords.
	secrets []string
}

// startOIDC starts a provider, then a node configured for it (registry, membership and
// the console), then registers copnet at the provider with the node's callback, which is
// known only once the node listens. extra are more settings for the node.
func startOIDC(t *testing.T, extra map[string]string) *oidcNode {
	t.Helper()
	p := oidcprovider.Start(t)
	t.Setenv("COPNET_OIDC_ISSUER", p.Issuer())
	t.Setenv("COPNET_OIDC_CLIENT_ID", oidcClientID)
	t.Setenv("COPNET_OIDC_CLIENT_SECRET", oidcClientSecret)
	t.Setenv("COPNET_OIDC_NAME", "your Health NZ account")
	for k, v := range extra {
		t.Setenv(k, v)
	}
	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := testkit.StartNode(t, testkit.NodeOptions{Logger: logger}, registry.Factory, membership.Factory, console.Factory)
	p.AddClient(oidcprovider.Client{ID: oidcClientID, Secret: oidcClientSecret, RedirectURIs: []string{n.URL + "/auth/oidc/callback"}})
	o := &oidcNode{env: &env{t: t, n: n}, p: p, log: logs, secrets: []string{oidcClientSecret}}
	// Whatever the test did, the node's logs hold none of the secrets it handled.
	t.Cleanup(func() {
		text := logs.String()
		for _, s := range o.secrets {
			if len(s) >= 8 && strings.Contains(text, s) {
				t.Errorf("the node's logs contain a secret (%.6s...)", s)
			}
		}
	})
	return o
}

// mark is where the node's log ends now; logged checks what was logged after it.
func (o *oidcNode) mark() int { return len(o.log.String()) }

// logged checks that the node logged why a sign-in was refused: each of words, in the
// refusal's line, after mark.
func (o *oidcNode) logged(t *testing.T, mark int, words ...string) {
	t.Helper()
	for _, line := range strings.Split(o.log.String()[mark:], "\n") {
		if !strings.Contains(line, "OpenID Connect sign-in refused") {
			continue
		}
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return
		}
	}
	t.Errorf("no refusal logged saying %q; logged:\n%s", words, o.log.String()[mark:])
}

// user adds a person at the provider (not at copnet), remembering their password as a
// secret.
func (o *oidcNode) user(t *testing.T, username, email string, verified bool) oidcprovider.User {
	t.Helper()
	u := oidcprovider.User{Username: username, Password: "pw-" + username + "-correct-horse", Email: email, EmailVerified: verified,
		GivenName: strings.ToUpper(username[:1]) + username[1:], FamilyName: "Tane"}
	u.Subject = o.p.AddUser(u)
	o.secrets = append(o.secrets, u.Password)
	return u
}

// callbacks records every URL of copnet's callback the browser requests, in order.
func (o *oidcNode) callbacks(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	prefix := o.n.URL + "/auth/oidc/callback"
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.HasPrefix(e.Request.URL, prefix) {
			mu.Lock()
			seen = append(seen, e.Request.URL)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := append([]string(nil), seen...)
		for _, u := range out {
			if q, err := url.Parse(u); err == nil {
				o.secrets = append(o.secrets, q.Query().Get("code"), q.Query().Get("state"))
			}
		}
		return out
	}
}

// signInAtProvider fills the provider's sign-in page, which the browser is on or about
// to be on, and waits for copnet's page to show landing (a CSS selector).
func signInAtProvider(t *testing.T, ctx context.Context, u oidcprovider.User, landing string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.WaitVisible(oidcprovider.UsernameField),
		chromedp.SetValue(oidcprovider.UsernameField, u.Username),
		chromedp.SetValue(oidcprovider.PasswordField, u.Password),
		chromedp.Click(oidcprovider.SubmitButton),
		chromedp.WaitVisible(landing),
	)
	if err != nil {
		t.Fatalf("sign in at the provider as %s and land on %s: %v", u.Username, landing, err)
	}
}

// viaSigninPage opens copnet's sign-in page, checks and photographs it, and follows its
// link to the provider.
func (o *oidcNode) viaSigninPage(t *testing.T, ctx context.Context, axe, shot string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(o.n.URL+"/signin?next=%2Faccount"), chromedp.WaitVisible(`#oidc-signin`)); err != nil {
		t.Fatalf("the sign-in page offers no organisation account: %v", err)
	}
	if shot != "" {
		browser.CheckAccessibility(t, ctx, axe, shot)
		screenshot(t, ctx, shot)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#oidc-signin`), chromedp.WaitVisible(oidcprovider.UsernameField)); err != nil {
		t.Fatalf("follow the sign-in page to the provider: %v", err)
	}
	if where := location(t, ctx); !strings.HasPrefix(where, o.p.Issuer()+"/") {
		t.Fatalf("the sign-in page's link led to %q, not the provider", where)
	}
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	where, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return where
}

// cookies are the browser's cookies for the node, by name.
func (o *oidcNode) cookies(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{o.n.URL + "/", o.n.URL + "/auth/oidc/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range res.Cookies {
		out[c.Name] = c.Value
		if c.Name == httpx.SessionCookie || c.Name == httpx.AccessCookie {
			o.secrets = append(o.secrets, c.Value)
		}
	}
	return out
}

// me is GET /v1/me with the browser's access cookie as a bearer token.
func (o *oidcNode) me(t *testing.T, ctx context.Context) (id, name string, grants []string) {
	t.Helper()
	tok := o.cookies(t, ctx)[httpx.AccessCookie]
	if tok == "" {
		t.Fatal("the browser holds no access cookie")
	}
	var out struct {
		Person *struct{ ID, Name string }
		Grants []httpx.Grant
	}
	o.in(t).must(http.StatusOK, &out, tok, "GET", "/v1/me", "")
	if out.Person == nil {
		t.Fatal("/v1/me names no person")
	}
	for _, g := range out.Grants {
		grants = append(grants, g.String())
	}
	return out.Person.ID, out.Person.Name, grants
}

// count runs a counting query on membership's database.
func (o *oidcNode) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := o.n.Pool("membership").QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (o *oidcNode) sessionsOf(t *testing.T, person string) int {
	return o.count(t, `SELECT count(*) FROM sessions WHERE person_id = $1 AND method = 'oidc'`, person)
}

func (o *oidcNode) linked(t *testing.T, u oidcprovider.User) string {
	t.Helper()
	var person string
	err := o.n.Pool("membership").QueryRow(context.Background(),
		`SELECT coalesce(max(person_id), '') FROM oidc_identities WHERE issuer = $1 AND subject = $2`, o.p.Issuer(), u.Subject).Scan(&person)
	if err != nil {
		t.Fatal(err)
	}
	return person
}

// shownAlert is the message the sign-in page shows (the passkey's, hidden until used,
// is one too).
const shownAlert = `p.alert:not([hidden])`

// get sends a GET with cookies and returns the answer, not following redirects.
func (o *oidcNode) get(t *testing.T, path string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", o.n.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// start begins a sign-in as a browser would, without following the redirect: the
// provider URL and the state cookie.
func (o *oidcNode) start(t *testing.T) (*url.URL, *http.Cookie) {
	t.Helper()
	res := o.get(t, "/auth/oidc/start?next=%2Faccount")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %s", res.Status)
	}
	to, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	var state *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "copnet_oidc" {
			state = c
		}
	}
	if state == nil || state.Value == "" {
		t.Fatal("start set no state cookie")
	}
	o.secrets = append(o.secrets, state.Value)
	return to, state
}

// refusedTo checks that an answer sends the browser back to the sign-in page with error.
func refusedTo(t *testing.T, res *http.Response, code string) {
	t.Helper()
	to, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || err != nil || to.Path != "/signin" || to.Query().Get("error") != code {
		t.Fatalf("answered %s to %q, want 303 to /signin?error=%s", res.Status, res.Header.Get("Location"), code)
	}
	for _, c := range res.Cookies() {
		if (c.Name == httpx.SessionCookie || c.Name == httpx.AccessCookie) && c.Value != "" {
			t.Fatalf("a refused sign-in set %s", c.Name)
		}
	}
}

// TestOIDCJourney: a person copnet knows signs in with their organisation's account from
// the console's sign-in page, at a phone's and a desktop's width: the account links by
// the verified e-mail address, they land on their account page seeing their grants, and
// /v1/me with the access cookie names them. The callback they came back through cannot be
// used again. Their second sign-in goes by the linked account, not the address: it still
// signs them in after their copnet address changed, even with someone else now holding the
// address the provider states.
func TestOIDCJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	axe := browser.AxeSource(t)
	o := startOIDC(t, nil)
	for _, width := range []int{browser.PhoneWidth, browser.DesktopWidth} {
		t.Run(fmt.Sprintf("at %d px", width), func(t *testing.T) {
			e := o.in(t)
			cop := fmt.Sprintf("cop-oidc-%d", width)
			e.approve("vic", cop)
			name := fmt.Sprintf("ana%d", width)
			email := name + "@example.org"
			ana := e.register("Ana Moana", email)
			e.join(cop, ana)
			u := o.user(t, name, email, true)

			ctx := browser.New(t, width)
			seen := o.callbacks(t, ctx)
			o.viaSigninPage(t, ctx, axe, fmt.Sprintf("oidc-signin-%d", width))
			signInAtProvider(t, ctx, u, `#grant-list`)
			if where := location(t, ctx); where != o.n.URL+"/account" {
				t.Errorf("landed on %q, want the account page the sign-in page was opened for", where)
			}
			browser.CheckAccessibility(t, ctx, axe, fmt.Sprintf("account page at %d px", width))
			screenshot(t, ctx, fmt.Sprintf("oidc-account-%d", width))
			shown, err := chromedp.Run(ctx, chromedp.Text(`#grant-list`))
			if err != nil || !strings.Contains(shown, "member of CoP "+cop) {
				t.Errorf("the account page shows grants %q (%v), want member of CoP %s", shown, err, cop)
			}
			if id, _, grants := o.me(t, ctx); id != ana || !strings.Contains(strings.Join(grants, ";"), "member of CoP "+cop) {
				t.Errorf("/v1/me: person %q with %v, want %s, member of %s", id, grants, ana, cop)
			}
			if got := o.linked(t, u); got != ana {
				t.Errorf("the provider account is linked to %q, want %s", got, ana)
			}
			if n := o.sessionsOf(t, ana); n != 1 {
				t.Errorf("%d OpenID Connect sessions after one sign-in", n)
			}
			// Nothing of the flow is left, and the table never held a state as given.
			cbs := seen()
			if len(cbs) != 1 {
				t.Fatalf("the browser came back through %d callbacks, want 1", len(cbs))
			}
			cb, _ := url.Parse(cbs[0])
			state := cb.Query().Get("state")
			if n := o.count(t, `SELECT count(*) FROM oidc_flows WHERE state = $1 OR state = $2`, state, hashed(state)); n != 0 {
				t.Errorf("%d flows of the finished sign-in are left", n)
			}

			// The callback again, in the same browser and with the state cookie as the
			// browser had it: the flow was spent.
			m := o.mark()
			if err := chromedp.Do(ctx, chromedp.Navigate(cbs[0]), chromedp.WaitVisible(shownAlert)); err != nil {
				t.Fatalf("replay the callback in the browser: %v", err)
			}
			if where, _ := url.Parse(location(t, ctx)); where.Path != "/signin" || where.Query().Get("error") != "oidc" {
				t.Errorf("a replayed callback led to %s", where)
			}
			browser.CheckAccessibility(t, ctx, axe, fmt.Sprintf("sign-in page after a refused sign-in at %d px", width))
			screenshot(t, ctx, fmt.Sprintf("oidc-replayed-%d", width))
			// The browser no longer holds the state cookie: the callback cleared it.
			o.logged(t, m, "did not start this sign-in")
			m = o.mark()
			refusedTo(t, o.get(t, cb.RequestURI(), &http.Cookie{Name: "copnet_oidc", Value: state}), "oidc")
			o.logged(t, m, "unknown, used or expired")
			if n := o.sessionsOf(t, ana); n != 1 {
				t.Errorf("%d OpenID Connect sessions after a replayed callback, want 1", n)
			}

			// Ana's address in copnet changes (an administrator's correction: no route
			// changes an address yet), and another person registers with the address the
			// provider still states. The provider account stays Ana's.
			if _, err := o.n.Pool("membership").Exec(context.Background(), `UPDATE people SET email = $2 WHERE id = $1`,
				ana, name+".moana@health.example"); err != nil {
				t.Fatal(err)
			}
			other := e.register("Someone Else", email)
			again := browser.New(t, width)
			o.viaSigninPage(t, again, axe, "")
			signInAtProvider(t, again, u, `#grant-list`)
			if id, _, _ := o.me(t, again); id != ana {
				t.Errorf("the second sign-in is person %q, want Ana %s (not %s, who holds the provider's address now)", id, ana, other)
			}
			if n := o.sessionsOf(t, ana); n != 2 {
				t.Errorf("%d OpenID Connect sessions of Ana after two sign-ins, want 2", n)
			}
			if n := o.sessionsOf(t, other); n != 0 {
				t.Errorf("the person now holding the address got %d sessions", n)
			}
			if n := o.count(t, `SELECT count(*) FROM oidc_identities WHERE person_id = $1`, ana); n != 1 {
				t.Errorf("Ana has %d linked accounts, want 1", n)
			}
		})
	}

	t.Run("an address the provider did not verify is refused", func(t *testing.T) {
		e := o.in(t)
		ben := e.register("Ben Tane", "ben@example.org")
		u := o.user(t, "ben", "ben@example.org", false)
		ctx := browser.New(t, browser.PhoneWidth)
		o.viaSigninPage(t, ctx, axe, "")
		signInAtProvider(t, ctx, u, shownAlert)
		if where, _ := url.Parse(location(t, ctx)); where.Path != "/signin" || where.Query().Get("error") != "oidc-email" {
			t.Errorf("an unverified address led to %s", where)
		}
		if msg, err := chromedp.Run(ctx, chromedp.Text(shownAlert)); err != nil || !strings.Contains(msg, "did not confirm an e-mail address") {
			t.Errorf("the sign-in page says %q (%v)", msg, err)
		}
		browser.CheckAccessibility(t, ctx, axe, "sign-in page after an unverified address at 390 px")
		screenshot(t, ctx, "oidc-unverified-390")
		if c := o.cookies(t, ctx); c[httpx.SessionCookie] != "" || c[httpx.AccessCookie] != "" {
			t.Error("the browser was signed in")
		}
		if got := o.linked(t, u); got != "" {
			t.Errorf("the provider account was linked to %q", got)
		}
		if n := o.sessionsOf(t, ben); n != 0 {
			t.Errorf("Ben has %d sessions", n)
		}
	})

	t.Run("a new person registers where self-registration is open", func(t *testing.T) {
		u := o.user(t, "cara", "cara@example.org", true)
		ctx := browser.New(t, browser.DesktopWidth)
		o.viaSigninPage(t, ctx, axe, "")
		signInAtProvider(t, ctx, u, `#passkey-register`)
		if where := location(t, ctx); where != o.n.URL+"/account" {
			t.Fatalf("landed on %q, want /account", where)
		}
		id, name, grants := o.me(t, ctx)
		if name != "Cara Tane" || len(grants) != 0 {
			t.Errorf("registered as %q with %v, want Cara Tane with no grants", name, grants)
		}
		if got := o.linked(t, u); got != id || id == "" {
			t.Errorf("the provider account is linked to %q, the session is %q's", got, id)
		}
		if n := o.count(t, `SELECT count(*) FROM people WHERE id = $1 AND email = 'cara@example.org'`, id); n != 1 {
			t.Errorf("%d people registered as Cara", n)
		}
	})

	t.Run("start keeps the flow hashed and sends the browser on with PKCE", func(t *testing.T) {
		to, state := o.start(t)
		q := to.Query()
		if got := to.Scheme + "://" + to.Host; got != o.p.Issuer() {
			t.Errorf("sent to %s, want the provider %s", got, o.p.Issuer())
		}
		for k, want := range map[string]string{"response_type": "code", "client_id": oidcClientID, "state": state.Value,
			"redirect_uri": o.n.URL + "/auth/oidc/callback", "code_challenge_method": "S256"} {
			if q.Get(k) != want {
				t.Errorf("%s = %q, want %q", k, q.Get(k), want)
			}
		}
		if scopes := " " + q.Get("scope") + " "; !strings.Contains(scopes, " openid ") || !strings.Contains(scopes, " email ") {
			t.Errorf("scope %q", q.Get("scope"))
		}
		if q.Get("nonce") == "" || len(q.Get("code_challenge")) != 43 {
			t.Errorf("nonce %q, code challenge %q", q.Get("nonce"), q.Get("code_challenge"))
		}
		if state.Path != "/auth/oidc/" || !state.HttpOnly || state.SameSite != http.SameSiteLaxMode || state.MaxAge != 600 {
			t.Errorf("state cookie: path %q, HttpOnly %v, SameSite %v, max age %d", state.Path, state.HttpOnly, state.SameSite, state.MaxAge)
		}
		var nonce, verifier string
		var minutes float64
		err := o.n.Pool("membership").QueryRow(context.Background(), `SELECT nonce, verifier, extract(epoch FROM expires_at - now()) / 60
			FROM oidc_flows WHERE state = $1`, hashed(state.Value)).Scan(&nonce, &verifier, &minutes)
		if err != nil {
			t.Fatalf("no flow kept under the state's hash: %v", err)
		}
		if nonce != q.Get("nonce") || verifier == "" || verifier == q.Get("code_challenge") || minutes < 9 || minutes > 10 {
			t.Errorf("flow: nonce matches %v, verifier sent in the clear %v, expires in %.1f minutes", nonce == q.Get("nonce"),
				verifier == q.Get("code_challenge"), minutes)
		}
		if n := o.count(t, `SELECT count(*) FROM oidc_flows WHERE state = $1`, state.Value); n != 0 {
			t.Error("the state is stored as given")
		}
	})

	t.Run("forged, refused and mismatched callbacks sign nobody in", func(t *testing.T) {
		// A state nobody issued, with or without a cookie to match.
		m := o.mark()
		refusedTo(t, o.get(t, "/auth/oidc/callback?code=made-up&state=forged", &http.Cookie{Name: "copnet_oidc", Value: "forged"}), "oidc")
		o.logged(t, m, "unknown, used or expired")
		m = o.mark()
		refusedTo(t, o.get(t, "/auth/oidc/callback?code=made-up&state=forged"), "oidc")
		o.logged(t, m, "did not start this sign-in")
		// A real state with a code the provider never issued: the exchange fails, and the
		// flow is spent.
		_, state := o.start(t)
		m = o.mark()
		refusedTo(t, o.get(t, "/auth/oidc/callback?code=made-up&state="+url.QueryEscape(state.Value), state), "oidc")
		o.logged(t, m, "the token endpoint refused the code", "invalid_grant")
		if n := o.count(t, `SELECT count(*) FROM oidc_flows WHERE state = $1`, hashed(state.Value)); n != 0 {
			t.Error("a refused flow can be tried again")
		}
		// A flow past its ten minutes.
		_, state = o.start(t)
		if _, err := o.n.Pool("membership").Exec(context.Background(), `UPDATE oidc_flows SET expires_at = now() - interval '1 second'
			WHERE state = $1`, hashed(state.Value)); err != nil {
			t.Fatal(err)
		}
		m = o.mark()
		refusedTo(t, o.get(t, "/auth/oidc/callback?code=made-up&state="+url.QueryEscape(state.Value), state), "oidc")
		o.logged(t, m, "unknown, used or expired")
		// The provider's refusal (the person said no).
		_, state = o.start(t)
		m = o.mark()
		res := o.get(t, "/auth/oidc/callback?error=access_denied&state="+url.QueryEscape(state.Value), state)
		refusedTo(t, res, "oidc")
		o.logged(t, m, "the provider answered", "access_denied")
		if next := res.Header.Get("Location"); !strings.Contains(next, "next=%2Faccount") {
			t.Errorf("the refusal forgot where the person was going: %s", next)
		}
		// A malformed callback: two states.
		m = o.mark()
		refusedTo(t, o.get(t, "/auth/oidc/callback?code=a&state="+url.QueryEscape(state.Value)+"&state=x", state), "oidc")
		o.logged(t, m, "malformed")
	})

	t.Run("an ID token with another nonce is refused", func(t *testing.T) {
		dan := o.in(t).register("Dan Tane", "dan@example.org")
		u := o.user(t, "dan", "dan@example.org", true)
		to, state := o.start(t)
		// The browser holds the flow's state, and the provider is asked with everything
		// of the flow but the nonce: the code is good, its ID token names another nonce.
		q := to.Query()
		q.Set("nonce", "not-the-nonce-copnet-sent")
		to.RawQuery = q.Encode()
		ctx := browser.New(t, browser.DesktopWidth)
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: state.Name, Value: state.Value,
			URL: o.n.URL + "/auth/oidc/callback", Path: "/auth/oidc/"}); err != nil {
			t.Fatal(err)
		}
		seen := o.callbacks(t, ctx)
		if err := chromedp.Do(ctx, chromedp.Navigate(to.String())); err != nil {
			t.Fatal(err)
		}
		m := o.mark()
		signInAtProvider(t, ctx, u, shownAlert)
		o.logged(t, m, "nonce is not the one sent")
		if len(seen()) != 1 {
			t.Fatal("the browser did not come back through the callback")
		}
		if where, _ := url.Parse(location(t, ctx)); where.Path != "/signin" || where.Query().Get("error") != "oidc" {
			t.Errorf("a wrong nonce led to %s", where)
		}
		if n := o.sessionsOf(t, dan); n != 0 || o.linked(t, u) != "" {
			t.Errorf("a wrong nonce signed Dan in (%d sessions) or linked the account", n)
		}
	})

	t.Run("a callback in a browser that did not start the sign-in is refused", func(t *testing.T) {
		// Login CSRF: someone starts a sign-in, signs in at the provider as themselves and
		// has another person's browser open the callback.
		mallory := o.user(t, "mallory", "mallory@example.org", true)
		to, state := o.start(t)
		victim := browser.New(t, browser.DesktopWidth)
		seen := o.callbacks(t, victim)
		if err := chromedp.Do(victim, chromedp.Navigate(to.String())); err != nil {
			t.Fatal(err)
		}
		m := o.mark()
		signInAtProvider(t, victim, mallory, shownAlert)
		o.logged(t, m, "did not start this sign-in")
		if c := o.cookies(t, victim); c[httpx.SessionCookie] != "" {
			t.Fatal("the victim's browser was signed in as someone else")
		}
		if o.linked(t, mallory) != "" {
			t.Fatal("the account was linked through a browser that did not start the sign-in")
		}
		// The flow is intact for the browser that started it.
		cbs := seen()
		if len(cbs) != 1 {
			t.Fatalf("%d callbacks", len(cbs))
		}
		cb, _ := url.Parse(cbs[0])
		res := o.get(t, cb.RequestURI(), state)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Errorf("the starting browser's callback: %s to %q, want 303 to /account", res.Status, res.Header.Get("Location"))
		}
		for _, c := range res.Cookies() {
			if c.Name == httpx.SessionCookie || c.Name == httpx.AccessCookie {
				o.secrets = append(o.secrets, c.Value)
			}
		}
		if o.linked(t, mallory) == "" {
			t.Error("the starting browser's callback linked nothing")
		}
	})
}

// TestOIDCInvitationOnly: where people register only by invitation, a verified provider
// account with no copnet account and no invitation gets none, and is told so.
func TestOIDCInvitationOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	axe := browser.AxeSource(t)
	o := startOIDC(t, map[string]string{"COPNET_MEMBERSHIP_SELF_REGISTRATION": "false"})
	u := o.user(t, "eve", "eve@example.org", true)
	ctx := browser.New(t, browser.PhoneWidth)
	o.viaSigninPage(t, ctx, axe, "")
	signInAtProvider(t, ctx, u, shownAlert)
	if where, _ := url.Parse(location(t, ctx)); where.Path != "/signin" || where.Query().Get("error") != "no-account" {
		t.Errorf("an unknown person led to %s", where)
	}
	if msg, err := chromedp.Run(ctx, chromedp.Text(shownAlert)); err != nil || !strings.Contains(msg, "There is no copnet account") {
		t.Errorf("the sign-in page says %q (%v)", msg, err)
	}
	browser.CheckAccessibility(t, ctx, axe, "sign-in page without an account at 390 px")
	screenshot(t, ctx, "oidc-no-account-390")
	if n := o.count(t, `SELECT count(*) FROM people`); n != 0 {
		t.Errorf("%d people registered", n)
	}
	if n := o.count(t, `SELECT count(*) FROM oidc_identities`); n != 0 {
		t.Errorf("%d provider accounts linked", n)
	}
	if c := o.cookies(t, ctx); c[httpx.SessionCookie] != "" {
		t.Error("the browser was signed in")
	}
}

// TestOIDCProviderUnreachable: a provider that is down when someone signs in sends them
// back to the sign-in page (copnet started without it and keeps serving); a node with no
// provider configured does the same for a stale link.
func TestOIDCProviderUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv("COPNET_OIDC_ISSUER", down)
	t.Setenv("COPNET_OIDC_CLIENT_ID", oidcClientID)
	t.Setenv("COPNET_OIDC_CLIENT_SECRET", oidcClientSecret)
	o := &oidcNode{env: start(t)}
	for i := range 2 { // the failed discovery is not kept: each try asks again
		res := o.get(t, "/auth/oidc/start?next=%2Faccount")
		refusedTo(t, res, "oidc")
		if res.Header.Get("Location") != "/signin?error=oidc&next=%2Faccount" || len(res.Cookies()) != 0 {
			t.Errorf("try %d: %q with %d cookies", i, res.Header.Get("Location"), len(res.Cookies()))
		}
	}
	if n := o.count(t, `SELECT count(*) FROM oidc_flows`); n != 0 {
		t.Errorf("%d flows kept for sign-ins that could not start", n)
	}
	o.must(http.StatusOK, nil, o.national(), "GET", "/v1/me", "")

	t.Setenv("COPNET_OIDC_ISSUER", "")
	t.Setenv("COPNET_OIDC_CLIENT_ID", "")
	t.Setenv("COPNET_OIDC_CLIENT_SECRET", "")
	plain := &oidcNode{env: start(t)}
	refusedTo(t, plain.get(t, "/auth/oidc/start"), "oidc")
	refusedTo(t, plain.get(t, "/auth/oidc/callback?code=a&state=b", &http.Cookie{Name: "copnet_oidc", Value: "b"}), "oidc")
}

// hashed is how the flows table keys a state.
func hashed(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

// screenshot keeps a picture of the page, which must not scroll sideways.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
	if err != nil {
		t.Fatal(err)
	}
	if widths[0] > widths[1] {
		t.Errorf("%s scrolls sideways: %d px of content in %d px", name, widths[0], widths[1])
	}
	browser.Shoot(t, ctx, name)
}
