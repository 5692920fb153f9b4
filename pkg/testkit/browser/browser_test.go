package browser_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/testkit/browser"
)

// passkeyPage registers a passkey with a fresh random challenge and user handle, then signs
// in with it as a discoverable credential (no credential list: the authenticator offers
// what it holds for the RP), and reports each step's result into #result, where the test
// reads it. Errors land there too, so a failure says what the browser said.
const passkeyPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Passkey</title></head>
<body><main>
<h1>Passkey</h1>
<button id="create" type="button">Create a passkey</button>
<button id="get" type="button">Sign in with a passkey</button>
<output id="result"></output>
</main>
<script>
const b64url = buf => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = n => crypto.getRandomValues(new Uint8Array(n));
const result = document.getElementById("result");
const report = (state, data) => { result.textContent = JSON.stringify(data); result.dataset.state = state; };
const userID = random(16);
document.getElementById("create").addEventListener("click", async () => {
	try {
		const cred = await navigator.credentials.create({publicKey: {
			challenge: random(32),
			rp: {id: "localhost", name: "copnet test"},
			user: {id: userID, name: "ana@example.org", displayName: "Ana"},
			pubKeyCredParams: [{type: "public-key", alg: -7}],
			authenticatorSelection: {residentKey: "required", userVerification: "required"},
		}});
		report("created", {id: cred.id, rawId: b64url(cred.rawId), userHandle: b64url(userID), type: cred.type});
	} catch (e) { report("error", {error: String(e)}); }
});
document.getElementById("get").addEventListener("click", async () => {
	try {
		const cred = await navigator.credentials.get({publicKey: {
			challenge: random(32), rpId: "localhost", userVerification: "required",
		}});
		report("signed-in", {id: cred.id, rawId: b64url(cred.rawId), userHandle: b64url(cred.response.userHandle), type: cred.type});
	} catch (e) { report("error", {error: String(e)}); }
});
</script>
</body></html>`

type outcome struct {
	ID         string `json:"id"`
	RawID      string `json:"rawId"`
	UserHandle string `json:"userHandle"`
	Type       string `json:"type"`
	Error      string `json:"error"`
}

// TestVirtualAuthenticator proves that the virtual authenticator answers a real page's
// navigator.credentials.create and .get in real Chromium: the passkey the page made is
// the one the authenticator lists, resident and bound to the RP id "localhost", and
// signing in with it returns the same credential and user handle and counts one more use.
func TestVirtualAuthenticator(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	// WebAuthn needs a secure context; http://localhost is one, http://127.0.0.1 is not
	// an allowed RP id. The server listens on the loopback address and the page is opened
	// under the name localhost.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(passkeyPage))
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	pageURL := "http://localhost:" + port + "/"

	ctx := browser.New(t, browser.PhoneWidth)
	id, err := browser.VirtualAuthenticator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if creds, err := browser.Credentials(ctx, id); err != nil || len(creds) != 0 {
		t.Fatalf("a new authenticator holds %d credentials (%v), want none", len(creds), err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL), chromedp.WaitVisible(`#create`)); err != nil {
		t.Fatalf("open %s: %v", pageURL, err)
	}

	run := func(button, wantState string) outcome {
		t.Helper()
		// The state is cleared first so that the wait below sees this call's outcome, not
		// the previous one.
		err := chromedp.Do(ctx,
			chromedp.Evaluate[chromedp.Void](`delete document.getElementById("result").dataset.state`),
			chromedp.Click(`#`+button),
			chromedp.WaitVisible(`#result[data-state]`),
		)
		if err != nil {
			t.Fatalf("press #%s: %v", button, err)
		}
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("result").dataset.state`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[outcome](`JSON.parse(document.getElementById("result").textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		if state != wantState {
			t.Fatalf("press #%s: the page reports %q %+v, want %q", button, state, got, wantState)
		}
		return got
	}

	created := run("create", "created")
	if created.Type != "public-key" || created.ID == "" || created.ID != created.RawID {
		t.Fatalf("created credential %+v", created)
	}
	rawID, err := base64.RawURLEncoding.DecodeString(created.RawID)
	if err != nil {
		t.Fatal(err)
	}
	userHandle, _ := base64.RawURLEncoding.DecodeString(created.UserHandle)

	creds, err := browser.Credentials(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 1 {
		t.Fatalf("the authenticator holds %d credentials after one create, want 1", len(creds))
	}
	c := creds[0]
	if !bytes.Equal(c.CredentialID, rawID) {
		t.Errorf("the authenticator holds credential %x, the page made %x", c.CredentialID, rawID)
	}
	if c.RpID != "localhost" || !c.IsResidentCredential || !bytes.Equal(c.UserHandle, userHandle) {
		t.Errorf("stored credential: rp %q, resident %v, user handle %x; want localhost, true, %x", c.RpID, c.IsResidentCredential, c.UserHandle, userHandle)
	}
	if len(c.PrivateKey) == 0 {
		t.Error("the stored credential has no private key")
	}

	signedIn := run("get", "signed-in")
	if signedIn.RawID != created.RawID || signedIn.UserHandle != created.UserHandle {
		t.Errorf("signed in with %+v, want the credential and user handle created: %+v", signedIn, created)
	}
	after, err := browser.Credentials(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 1 || after[0].SignCount <= c.SignCount {
		t.Errorf("after signing in: %d credentials, sign count %v (was %v); want 1, and one more use counted", len(after), after[0].SignCount, c.SignCount)
	}
}

// TestScreenshot proves New's viewport width holds at a phone's and a desktop's width, and
// that Screenshot writes a PNG of the whole page: as wide as the page's layout (the
// viewport less its scroll bar) and as tall as the page, beyond the viewport.
func TestScreenshot(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><title>Tall</title><body style="margin:0"><div id="tall" style="height:2000px;background:#369">tall</div></body></html>`))
	}))
	t.Cleanup(srv.Close)
	for _, viewport := range []int{browser.PhoneWidth, browser.DesktopWidth} {
		ctx := browser.New(t, viewport)
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible(`#tall`)); err != nil {
			t.Fatal(err)
		}
		// A scroll bar takes its width from the layout; anything more means the viewport
		// was not the one asked for.
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.clientWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if width > viewport || width < viewport-20 {
			t.Fatalf("the page is laid out %d px wide in a %d px viewport", width, viewport)
		}
		path := filepath.Join(t.TempDir(), "shots", "tall.png")
		if err := browser.Screenshot(ctx, path); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("the screenshot is no PNG: %v", err)
		}
		if b := img.Bounds(); b.Dx() != width || b.Dy() != 2000 {
			t.Errorf("screenshot at %d px is %dx%d, want %dx2000, the whole page", viewport, b.Dx(), b.Dy(), width)
		}
	}
}
