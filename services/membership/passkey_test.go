package membership_test

// Passkeys as people use them: real headless Chromium with the DevTools virtual
// authenticator (a platform authenticator with a fingerprint reader that always agrees),
// on a node running the registry, membership and the console, reached at
// http://localhost:PORT — a secure context, and a host WebAuthn accepts as a relying party
// id, which 127.0.0.1 is not. A person signs in through the setup link, adds a passkey on
// their account page, clears their cookies, and signs in with the passkey alone. Then what
// must fail does: a ceremony finished twice, an assertion replayed on a new ceremony, a
// passkey whose counter went backwards (a copied key), and the passkey of an erased person.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/membership/internal/app"
	"github.com/copnet/copnet/services/membership/internal/passkeytest"
	"github.com/copnet/copnet/services/registry"
)

// startLocalhostNode runs registry, membership and the console on a node whose public URL
// is http://localhost:PORT. The node listens on 127.0.0.1 at a port of testkit's choosing,
// so a reverse proxy on PORT (keeping the browser's Host) puts it where its URL says.
func startLocalhostNode(t *testing.T) (*testkit.Node, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n := testkit.StartNode(t, testkit.NodeOptions{Logger: logger, PublicURL: base},
		registry.Factory, membership.Factory, console.NewFactory(console.Options{}))
	target, err := url.Parse(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends when the test closes it
	t.Cleanup(func() { srv.Close() })
	return n, base
}

func open(t *testing.T, ctx context.Context, u string) {
	t.Helper()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("open %s: %d", u, res.Status)
	}
}

// outcome clicks button and waits until the page shows the success element or the
// passkey error, returning the error's text ("" on success).
func outcome(t *testing.T, ctx context.Context, button, success string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(button, chromedp.NodeVisible)); err != nil {
		t.Fatalf("click %s: %v", button, err)
	}
	sel := fmt.Sprintf(`(() => { const ok = document.querySelector(%q), bad = document.getElementById("passkey-error");
		if (ok && !ok.hidden && ok.offsetParent !== null) return "ok";
		if (bad && !bad.hidden) return "error: " + bad.textContent;
		return false; })()`, success)
	// A sign-in moves the page on while this waits, so each look is one evaluation in
	// whichever page is there now.
	var got string
	testkit.Eventually(t, time.Minute, func() error {
		res, err := chromedp.Run(ctx, chromedp.Evaluate[any](sel))
		if err != nil {
			return err
		}
		if s, ok := res.(string); ok {
			got = s
			return nil
		}
		return fmt.Errorf("neither %s nor the passkey error shows after clicking %s", success, button)
	})
	msg, _ := strings.CutPrefix(got, "error: ")
	if got == "ok" {
		msg = ""
	}
	return msg
}

// accessToken is the browser's access cookie, as after a sign-in.
func accessToken(t *testing.T, ctx context.Context, base string) string {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == httpx.AccessCookie {
			return c.Value
		}
	}
	return ""
}

// me is GET /v1/me with tok.
type meView struct {
	Person *struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"person"`
	Grants []httpx.Grant `json:"grants"`
}

func me(t *testing.T, n *testkit.Node, tok string) meView {
	t.Helper()
	var out meView
	if st := n.JSON(t, "GET", "/v1/me", tok, nil, &out); st != http.StatusOK {
		t.Fatalf("GET /v1/me: %d", st)
	}
	return out
}

// ceremonyTwice runs, in the page, a passkey sign-in by hand (the browser's own JSON
// helpers, not passkey.js): begin, the authenticator's assertion, finish; then finishes
// the same ceremony again with the same answer, and begins a new ceremony to finish with
// that old answer. It returns the three statuses and the problems' details.
const ceremonyTwice = `(async () => {
	const csrf = document.querySelector("input[name=csrf]").value;
	const post = (u, b) => fetch(u, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
		body: JSON.stringify(b)}).then(async r => ({status: r.status, type: r.headers.get("Content-Type"), body: await r.json()}));
	const begun = await post("/auth/passkey/login/begin", {});
	const cred = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begun.body.publicKey)});
	const answer = cred.toJSON();
	const first = await post("/auth/passkey/login/finish?ceremony=" + encodeURIComponent(begun.body.ceremony), answer);
	const again = await post("/auth/passkey/login/finish?ceremony=" + encodeURIComponent(begun.body.ceremony), answer);
	const fresh = await post("/auth/passkey/login/begin", {});
	const replayed = await post("/auth/passkey/login/finish?ceremony=" + encodeURIComponent(fresh.body.ceremony), answer);
	return {first: first.status, again: again.status, againType: again.type, againDetail: again.body.detail || "",
		replayed: replayed.status, replayedDetail: replayed.body.detail || ""};
})()`

type twice struct {
	First          int    `json:"first"`
	Again          int    `json:"again"`
	AgainType      string `json:"againType"`
	AgainDetail    string `json:"againDetail"`
	Replayed       int    `json:"replayed"`
	ReplayedDetail string `json:"replayedDetail"`
}

// TestPasskeyJourney: sign in through the setup link, add a passkey, sign in with it alone;
// at a phone's width and a desktop's, every page axe-clean.
func TestPasskeyJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through the pages")
	}
	axe := browser.AxeSource(t)
	// Both widths sign in from 127.0.0.1 several times; the limit has its own test.
	t.Setenv("COPNET_MEMBERSHIP_PASSKEY_LOGIN_BURST", "50")
	n, base := startLocalhostNode(t)
	db := n.Pool("membership")
	for _, width := range []int{browser.PhoneWidth, browser.DesktopWidth} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			ctx := browser.New(t, width)
			auth, err := browser.VirtualAuthenticator(ctx)
			if err != nil {
				t.Fatal(err)
			}
			name, email := fmt.Sprintf("Pat Passkey %d", width), fmt.Sprintf("pat%d@example.org", width)

			// Signed in through the single-use setup link, as the first administrator is.
			link, err := membership.SetupLink(n.Secret, base, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			open(t, ctx, link)
			if err := chromedp.Do(ctx, chromedp.SetValue(`#name`, name), chromedp.SetValue(`#email`, email),
				chromedp.Click(`#setup-submit`), chromedp.WaitVisible(`li.who`)); err != nil {
				t.Fatalf("not signed in after the setup form: %v", err)
			}
			who := me(t, n, accessToken(t, ctx, base))
			if who.Person == nil || who.Person.Name != name {
				t.Fatalf("after setup, /v1/me says %+v", who)
			}
			person := who.Person.ID

			// The account page adds a passkey for this device.
			open(t, ctx, base+"/account")
			browser.CheckAccessibility(t, ctx, axe, "account page")
			if msg := outcome(t, ctx, `#passkey-register`, `#passkey-added`); msg != "" {
				t.Fatalf("adding a passkey failed: %s", msg)
			}
			browser.CheckAccessibility(t, ctx, axe, "account page with the passkey added")
			browser.Shoot(t, ctx, fmt.Sprintf("passkey-added-%d", width))
			creds, err := browser.Credentials(ctx, auth)
			if err != nil {
				t.Fatal(err)
			}
			if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" || string(creds[0].UserHandle) != person {
				t.Fatalf("the authenticator holds %d credentials, want one discoverable passkey for localhost and person %s: %+v", len(creds), person, creds)
			}
			var stored int
			if err := db.QueryRow(context.Background(), `SELECT count(*) FROM passkeys WHERE person_id = $1 AND credential_id = $2`,
				person, creds[0].CredentialID).Scan(&stored); err != nil || stored != 1 {
				t.Fatalf("membership keeps %d passkeys with the authenticator's credential id (%v), want 1", stored, err)
			}
			// A second passkey on the same device is refused by the device itself: the
			// credential it holds is excluded.
			if msg := outcome(t, ctx, `#passkey-register`, `#passkey-added`); msg == "" {
				t.Fatal("a second passkey on the same device was added; the first should have been excluded")
			}
			if creds, _ := browser.Credentials(ctx, auth); len(creds) != 1 {
				t.Fatalf("the authenticator holds %d credentials after the excluded second try, want 1", len(creds))
			}

			// Cookies gone, the passkey alone signs the person in.
			signOut(t, ctx)
			open(t, ctx, base+"/signin")
			browser.CheckAccessibility(t, ctx, axe, "sign-in page")
			browser.Shoot(t, ctx, fmt.Sprintf("passkey-signin-%d", width))
			if msg := outcome(t, ctx, `#passkey-signin`, `li.who`); msg != "" {
				t.Fatalf("signing in with the passkey failed: %s", msg)
			}
			again := me(t, n, accessToken(t, ctx, base))
			if again.Person == nil || again.Person.ID != person || len(again.Grants) != 1 || again.Grants[0].Role != httpx.RoleNational {
				t.Fatalf("after the passkey sign-in, /v1/me says %+v, want %s holding national", again, person)
			}
			open(t, ctx, base+"/account")
			if err := chromedp.Do(ctx, chromedp.WaitVisible(`#grant-list`)); err != nil {
				t.Fatalf("the account page after the passkey sign-in: %v", err)
			}
			shown, err := chromedp.Run(ctx, chromedp.Text(`#grant-list`))
			if err != nil || !strings.Contains(shown, "national") {
				t.Fatalf("the account page lists %q (%v), want the national grant", shown, err)
			}
			browser.CheckAccessibility(t, ctx, axe, "account page after the passkey sign-in")
			browser.Shoot(t, ctx, fmt.Sprintf("passkey-signed-in-%d", width))
			var sessions int
			var signCount float64
			if err := db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM sessions WHERE person_id = $1 AND method = 'passkey'),
				(SELECT coalesce((credential->'authenticator'->>'signCount')::float8, 0) FROM passkeys WHERE person_id = $1 AND last_used_at IS NOT NULL)`,
				person).Scan(&sessions, &signCount); err != nil {
				t.Fatal(err)
			}
			if sessions != 1 || signCount < 1 {
				t.Fatalf("after the passkey sign-in: %d passkey sessions (want 1), stored sign count %v (want ≥ 1)", sessions, signCount)
			}

			// A ceremony works once; an answer does not work on another ceremony.
			open(t, ctx, base+"/signin")
			res, err := chromedp.Run(ctx, chromedp.Evaluate[twice](ceremonyTwice, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			if res.First != http.StatusOK || res.Again != http.StatusBadRequest || res.AgainType != "application/problem+json" ||
				!strings.Contains(res.AgainDetail, "used already") || res.Replayed != http.StatusUnauthorized {
				t.Fatalf("a ceremony finished twice and an answer replayed: %+v; want 200, then 400 naming the used ceremony, then 401", res)
			}
			t.Logf("ceremony twice: %q; answer replayed: %q", res.AgainDetail, res.ReplayedDetail)

			// A copy of the key, its counter behind the one membership saw last, is refused.
			creds, err = browser.Credentials(ctx, auth)
			if err != nil || len(creds) != 1 {
				t.Fatalf("credentials: %v %v", creds, err)
			}
			c0 := creds[0]
			if _, err := chromedp.Call(ctx, cdpwebauthn.RemoveCredential, cdpwebauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: c0.CredentialID}); err != nil {
				t.Fatal(err)
			}
			putCopy(t, ctx, auth, c0, 0)
			signOut(t, ctx)
			open(t, ctx, base+"/signin")
			if msg := outcome(t, ctx, `#passkey-signin`, `li.who`); !strings.Contains(msg, "copied") {
				t.Fatalf("a passkey whose counter went backwards: %q, want a refusal saying it may have been copied", msg)
			}
			browser.Shoot(t, ctx, fmt.Sprintf("passkey-refused-%d", width))
			if tok := accessToken(t, ctx, base); tok != "" {
				t.Fatal("a refused passkey sign-in left an access cookie")
			}

			// The passkey of an erased person signs nobody in.
			if st := n.JSON(t, "DELETE", "/v1/people/"+person, n.Member(t, person), nil, nil); st != http.StatusNoContent {
				t.Fatalf("erase: %d", st)
			}
			if _, err := chromedp.Call(ctx, cdpwebauthn.RemoveCredential, cdpwebauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: c0.CredentialID}); err != nil {
				t.Fatal(err)
			}
			// The device still holds the key, its counter ahead of anything seen.
			putCopy(t, ctx, auth, c0, 1000)
			open(t, ctx, base+"/signin")
			if msg := outcome(t, ctx, `#passkey-signin`, `li.who`); !strings.Contains(msg, "not registered") {
				t.Fatalf("the passkey of an erased person: %q, want a refusal saying it is not registered", msg)
			}
			if tok := accessToken(t, ctx, base); tok != "" {
				t.Fatal("an erased person's passkey left an access cookie")
			}
			var left int
			if err := db.QueryRow(context.Background(), `SELECT count(*) FROM passkeys WHERE person_id = $1`, person).Scan(&left); err != nil || left != 0 {
				t.Fatalf("%d passkeys of the erased person remain (%v)", left, err)
			}
		})
	}
}

// addCredential is WebAuthn.addCredential with only the members a copy of a key has:
// cdproto's Credential always sends its CMTG members, which the virtual authenticator
// refuses since it does not support them.
var addCredential = cdp.Command[map[string]any, cdp.Empty]{Method: cdpwebauthn.CommandAddCredential}

// putCopy puts a copy of credential c into the authenticator, its signature counter at
// count.
func putCopy(t *testing.T, ctx context.Context, auth cdpwebauthn.AuthenticatorID, c *cdpwebauthn.Credential, count float64) {
	t.Helper()
	b := base64.StdEncoding.EncodeToString
	cred := map[string]any{"credentialId": b(c.CredentialID), "isResidentCredential": c.IsResidentCredential, "rpId": c.RpID,
		"privateKey": b(c.PrivateKey), "userHandle": b(c.UserHandle), "signCount": count,
		"backupEligibility": c.BackupEligibility, "backupState": c.BackupState}
	if _, err := chromedp.Call(ctx, addCredential, map[string]any{"authenticatorId": auth, "credential": cred}); err != nil {
		t.Fatalf("put a copy of the passkey into the authenticator: %v", err)
	}
}

// signOut clears the browser's cookies, as a person on another device would start.
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
}

// pkClient is a browser as far as the passkey routes see one: a CSRF cookie and header,
// and the access cookie of whoever is signed in.
type pkClient struct {
	t      testing.TB
	n      *testkit.Node
	csrf   string
	access string
	// noHeader leaves the X-CSRF-Token header out.
	noHeader bool
}

func (c *pkClient) post(path string, body []byte) *response {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.n.URL+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: httpx.CSRFCookie, Value: c.csrf})
	if !c.noHeader {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.access != "" {
		req.AddCookie(&http.Cookie{Name: httpx.AccessCookie, Value: c.access})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &response{method: "POST", path: path, status: res.StatusCode, header: res.Header, body: b}
}

// begun is a begin route's answer.
type begun struct {
	PublicKey json.RawMessage `json:"publicKey"`
	Ceremony  string          `json:"ceremony"`
}

func (c *pkClient) begin(path string) begun {
	c.t.Helper()
	r := c.post(path, []byte(`{}`))
	var b begun
	if r.status != http.StatusOK || json.Unmarshal(r.body, &b) != nil || b.Ceremony == "" || len(b.PublicKey) == 0 {
		c.t.Fatalf("%s: want 200 with publicKey and ceremony", r)
	}
	return b
}

func finish(path, ceremony string) string {
	return path + "?ceremony=" + url.QueryEscape(ceremony)
}

// TestPasskeyCeremoniesOverHTTP drives the ceremonies with a software authenticator, to
// reach each refusal on its own: no CSRF header, no sign-in, an operator's token, a
// ceremony of another person or kind, expired, or used; a counter gone backwards; a
// malformed answer; too many sign-ins begun. And what works: the options asked of the
// device, a passkey added, a sign-in that sets the session cookies and answers JSON.
func TestPasskeyCeremoniesOverHTTP(t *testing.T) {
	t.Setenv("COPNET_MEMBERSHIP_PASSKEY_LOGIN_BURST", "8")
	t.Setenv("COPNET_MEMBERSHIP_PASSKEY_LOGIN_EVERY", "1h")
	const origin = "http://localhost:4567"
	clock := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n := testkit.StartNode(t, testkit.NodeOptions{Now: clock.Now, Logger: logger, PublicURL: origin}, membership.Factory)
	e := &env{t: t, n: n, clock: clock}
	ana, ben := e.register("Ana Passkey", "ana@example.org"), e.register("Ben Passkey", "ben@example.org")
	csrf := strings.Repeat("c", 43)
	anon := &pkClient{t: t, n: n, csrf: csrf}
	asAna := &pkClient{t: t, n: n, csrf: csrf, access: n.Member(t, ana)}
	asBen := &pkClient{t: t, n: n, csrf: csrf, access: n.Member(t, ben)}
	const regBegin, regFinish = "/auth/passkey/register/begin", "/auth/passkey/register/finish"
	const logBegin, logFinish = "/auth/passkey/login/begin", "/auth/passkey/login/finish"

	t.Run("every route wants the CSRF header to match the cookie", func(t *testing.T) {
		for _, path := range []string{regBegin, finish(regFinish, "x"), logBegin, finish(logFinish, "x")} {
			c := *asAna
			c.t, c.noHeader = t, true
			c.post(path, []byte(`{}`)).problem(t, http.StatusForbidden)
			c.noHeader, c.csrf = false, "short"
			c.post(path, []byte(`{}`)).problem(t, http.StatusForbidden)
		}
	})
	t.Run("registering wants a signed-in person", func(t *testing.T) {
		anon.post(regBegin, []byte(`{}`)).problem(t, http.StatusUnauthorized)
		op := &pkClient{t: t, n: n, csrf: csrf, access: n.National(t)}
		if p := op.post(regBegin, []byte(`{}`)).problem(t, http.StatusForbidden); !strings.Contains(p.Detail, "registered in copnet") {
			t.Errorf("an operator's token: %q", p.Detail)
		}
	})

	key := passkeytest.New(origin)
	t.Run("a person adds a passkey", func(t *testing.T) {
		b := asAna.begin(regBegin)
		var opts struct {
			RP struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"rp"`
			User struct {
				ID          string `json:"id"`
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"user"`
			Challenge string `json:"challenge"`
			Timeout   int    `json:"timeout"`
			Selection struct {
				ResidentKey      string `json:"residentKey"`
				RequireResident  bool   `json:"requireResidentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Exclude []json.RawMessage `json:"excludeCredentials"`
		}
		if err := json.Unmarshal(b.PublicKey, &opts); err != nil {
			t.Fatal(err)
		}
		if opts.RP.ID != "localhost" || opts.RP.Name != "copnet" || opts.User.ID != base64.RawURLEncoding.EncodeToString([]byte(ana)) ||
			opts.User.Name != "ana@example.org" || opts.User.DisplayName != "Ana Passkey" || len(opts.Challenge) < 22 ||
			opts.Timeout != 300000 || opts.Selection.ResidentKey != "required" || !opts.Selection.RequireResident ||
			opts.Selection.UserVerification != "preferred" || len(opts.Exclude) != 0 {
			t.Fatalf("creation options: %s", b.PublicKey)
		}
		body, err := key.Create(b.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		// Someone else cannot finish Ana's ceremony (and spends it trying).
		if p := asBen.post(finish(regFinish, b.Ceremony), body).problem(t, http.StatusBadRequest); !strings.Contains(p.Detail, "ceremony") {
			t.Errorf("Ben finishing Ana's ceremony: %q", p.Detail)
		}
		asAna.post(finish(regFinish, b.Ceremony), body).problem(t, http.StatusBadRequest)
		b = asAna.begin(regBegin)
		if body, err = key.Create(b.PublicKey); err != nil {
			t.Fatal(err)
		}
		if r := asAna.post(finish(regFinish, b.Ceremony), body); r.status != http.StatusCreated || !strings.Contains(string(r.body), `"added"`) {
			t.Fatalf("%s: want 201 added", r)
		}
		// The passkey is excluded from the next registration.
		if err := json.Unmarshal(asAna.begin(regBegin).PublicKey, &opts); err != nil || len(opts.Exclude) != 1 {
			t.Fatalf("the next registration excludes %d credentials (%v), want 1", len(opts.Exclude), err)
		}
		// A finished ceremony is gone at once, spent or not; the one begun last waits.
		var inFlight int
		if err := e.n.Pool("membership").QueryRow(context.Background(), `SELECT count(*) FROM webauthn_ceremonies WHERE person_id = $1`, ana).
			Scan(&inFlight); err != nil || inFlight != 1 {
			t.Fatalf("%d ceremonies of Ana's in flight (%v), want the one unfinished", inFlight, err)
		}
	})

	signIn := func(t *testing.T) *response {
		b := anon.begin(logBegin)
		body, err := key.Get(b.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return anon.post(finish(logFinish, b.Ceremony)+"&next=%2Fcops%2Fx", body)
	}
	t.Run("the passkey signs Ana in", func(t *testing.T) {
		r := signIn(t)
		if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"next":"/cops/x"}` {
			t.Fatalf("%s: want 200 {\"next\":\"/cops/x\"}", r)
		}
		var access string
		cookies := map[string]bool{}
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			cookies[ck.Name] = ck.HttpOnly && ck.SameSite == http.SameSiteLaxMode
			if ck.Name == httpx.AccessCookie {
				access = ck.Value
			}
		}
		if !cookies[httpx.SessionCookie] || !cookies[httpx.AccessCookie] {
			t.Fatalf("cookies set: %v, want HttpOnly SameSite=Lax session and access cookies", r.header.Values("Set-Cookie"))
		}
		if who := me(t, n, access); who.Person == nil || who.Person.ID != ana {
			t.Fatalf("the access cookie is %+v, want Ana", who)
		}
	})
	t.Run("a ceremony is refused when used, expired, of the other kind or unknown", func(t *testing.T) {
		b := anon.begin(logBegin)
		body, err := key.Get(b.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if r := anon.post(finish(logFinish, b.Ceremony), body); r.status != http.StatusOK {
			t.Fatalf("%s: want 200", r)
		}
		if p := anon.post(finish(logFinish, b.Ceremony), body).problem(t, http.StatusBadRequest); p.fields()[0] != "ceremony" {
			t.Errorf("used twice: %+v", p)
		}
		// Five minutes pass.
		b = anon.begin(logBegin)
		if body, err = key.Get(b.PublicKey); err != nil {
			t.Fatal(err)
		}
		clock.Advance(app.CeremonyTTL)
		if p := anon.post(finish(logFinish, b.Ceremony), body).problem(t, http.StatusBadRequest); !strings.Contains(p.Detail, "five minutes") {
			t.Errorf("expired: %+v", p)
		}
		// A registration's ceremony cannot finish a sign-in.
		reg := asAna.begin(regBegin)
		if body, err = key.Get(anon.begin(logBegin).PublicKey); err != nil {
			t.Fatal(err)
		}
		anon.post(finish(logFinish, reg.Ceremony), body).problem(t, http.StatusBadRequest)
		anon.post(finish(logFinish, "nope"), body).problem(t, http.StatusBadRequest)
		anon.post(logFinish, body).problem(t, http.StatusBadRequest)
	})
	t.Run("a malformed answer is a 400 naming the body", func(t *testing.T) {
		for _, body := range []string{``, `{}`, `[]`, `{"id":"AA","rawId":"AA","type":"public-key","response":{}}`, `{"id":"\u0000"}`} {
			for _, path := range []string{finish(logFinish, "x"), finish(regFinish, "x")} {
				c := asAna
				if p := c.post(path, []byte(body)).problem(t, http.StatusBadRequest); len(p.Errors) == 0 || p.Errors[0].Field != "body" {
					t.Errorf("%s with %q: %+v", path, body, p)
				}
			}
		}
	})
	t.Run("a counter gone backwards is a copied key", func(t *testing.T) {
		key.Count = 0
		if p := signIn(t).problem(t, http.StatusUnauthorized); !strings.Contains(p.Detail, "copied") {
			t.Errorf("counter backwards: %q", p.Detail)
		}
	})
	t.Run("sign-ins begun are limited per client", func(t *testing.T) {
		for {
			r := anon.post(logBegin, []byte(`{}`))
			if r.status == http.StatusTooManyRequests {
				r.problem(t, http.StatusTooManyRequests)
				break
			}
			if r.status != http.StatusOK {
				t.Fatalf("%s: want 200 until 429", r)
			}
		}
	})
}

// TestPasskeysNeedAHostName: WebAuthn binds a passkey to a domain; a node reached at an IP
// address says why it cannot offer them.
func TestPasskeysNeedAHostName(t *testing.T) {
	e := start(t) // public URL http://127.0.0.1:PORT
	c := &pkClient{t: t, n: e.n, csrf: strings.Repeat("c", 43)}
	if p := c.post("/auth/passkey/login/begin", []byte(`{}`)).problem(t, http.StatusNotFound); !strings.Contains(p.Detail, "COPNET_PUBLIC_URL") {
		t.Errorf("passkeys on an IP address: %q", p.Detail)
	}
}
