package oidcprovider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/pkg/testkit/oidcprovider"
)

// relyingParty is what a web application needs to sign people in at the provider: the
// callback server that the browser lands on, and the OAuth2 and OpenID client settings.
type relyingParty struct {
	callbacks chan url.Values // the query of each request to the callback, in order
	oauth     oauth2.Config
	provider  *oidc.Provider
	verifier  *oidc.IDTokenVerifier
}

func newRelyingParty(t *testing.T) (*relyingParty, string) {
	t.Helper()
	rp := &relyingParty{callbacks: make(chan url.Values, 10)}
	// The callback records what the provider sent and shows a page the browser test can
	// wait for; the buffered channel holds the query before the page is written, so once
	// the page is visible the query is there to read.
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		rp.callbacks <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprint(w, `<!doctype html><html lang="en"><title>Back</title><main><h1 id="back">Back at the relying party</h1></main></html>`)
	}))
	t.Cleanup(cb.Close)
	return rp, cb.URL + "/callback"
}

// discover reads the provider's metadata with go-oidc, as a relying party does at start.
func (rp *relyingParty) discover(t *testing.T, issuer string, c oidcprovider.Client) {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp.provider = p
	rp.verifier = p.Verifier(&oidc.Config{ClientID: c.ID})
	rp.oauth = oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  c.RedirectURIs[0],
		Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
	}
}

// attempt is one sign-in started by the relying party: the secrets it keeps to check what
// comes back.
type attempt struct {
	state, nonce, verifier string
	authURL                string
}

func (rp *relyingParty) start() attempt {
	a := attempt{state: oauth2.GenerateVerifier(), nonce: oauth2.GenerateVerifier(), verifier: oauth2.GenerateVerifier()}
	a.authURL = rp.oauth.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier))
	return a
}

// signIn fills the provider's sign-in page in the browser and submits it.
func signIn(t *testing.T, ctx context.Context, username, password string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.WaitVisible(oidcprovider.UsernameField),
		chromedp.SetValue(oidcprovider.UsernameField, username),
		chromedp.SetValue(oidcprovider.PasswordField, password),
		chromedp.Click(oidcprovider.SubmitButton),
	)
	if err != nil {
		t.Fatalf("fill the provider's sign-in page: %v", err)
	}
}

// codeFrom waits for the browser to land on the callback page and returns the code,
// checking the state.
func (rp *relyingParty) codeFrom(t *testing.T, ctx context.Context, a attempt) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#back`)); err != nil {
		t.Fatalf("the browser did not come back to the relying party: %v", err)
	}
	var q url.Values
	select {
	case q = <-rp.callbacks:
	default:
		t.Fatal("the callback page is shown but the callback recorded nothing")
	}
	if e := q.Get("error"); e != "" {
		t.Fatalf("the provider answered with error %q: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != a.state {
		t.Fatal("the callback's state is not the one sent")
	}
	if q.Get("code") == "" {
		t.Fatal("the callback carries no code")
	}
	return q.Get("code")
}

// claims are the ID token claims the identity tests rely on.
type claims struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
}

// TestDiscovery: the metadata a relying party configures itself from, fetched as JSON.
func TestDiscovery(t *testing.T) {
	p := oidcprovider.Start(t)
	res, err := http.Get(p.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %s", res.Status)
	}
	var doc struct {
		Issuer                string   `json:"issuer"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		UserinfoEndpoint      string   `json:"userinfo_endpoint"`
		JWKSURI               string   `json:"jwks_uri"`
		ResponseTypes         []string `json:"response_types_supported"`
		Scopes                []string `json:"scopes_supported"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
		SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
		Claims                []string `json:"claims_supported"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != p.Issuer() || !strings.HasPrefix(p.Issuer(), "http://127.0.0.1:") {
		t.Errorf("issuer %q in the document, %q started", doc.Issuer, p.Issuer())
	}
	for name, endpoint := range map[string]string{"authorization": doc.AuthorizationEndpoint, "token": doc.TokenEndpoint,
		"userinfo": doc.UserinfoEndpoint, "jwks": doc.JWKSURI} {
		if !strings.HasPrefix(endpoint, p.Issuer()+"/") {
			t.Errorf("%s endpoint %q is not under the issuer", name, endpoint)
		}
	}
	for what, list := range map[string][]string{"response type code": doc.ResponseTypes, "scope openid": doc.Scopes,
		"scope email": doc.Scopes, "scope profile": doc.Scopes, "PKCE S256": doc.CodeChallengeMethods,
		"RS256": doc.SigningAlgs, "claim email_verified": doc.Claims} {
		want := what[strings.LastIndexByte(what, ' ')+1:]
		if !slices.Contains(list, want) {
			t.Errorf("%s not offered: %v", what, list)
		}
	}
	keys, err := http.Get(doc.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = keys.Body.Close() }()
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(keys.Body).Decode(&jwks); err != nil || len(jwks.Keys) == 0 {
		t.Fatalf("JWKS: %d keys (%v)", len(jwks.Keys), err)
	}
}

// TestSignIn: a relying party built from go-oidc and x/oauth2 signs people in at the
// provider through real Chromium with the authorization code flow and PKCE, and gets a
// verified ID token with the person's e-mail and whether it is verified. A wrong password
// yields no code; a code is good once, and only with its PKCE verifier.
func TestSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	rp, redirect := newRelyingParty(t)
	client := oidcprovider.Client{ID: "copnet-web", Secret: "s3cret-for-tests", RedirectURIs: []string{redirect}}
	ana := oidcprovider.User{Username: "ana", Password: "correct horse", Email: "ana@example.org", EmailVerified: true,
		GivenName: "Ana", FamilyName: "Moana"}
	p := oidcprovider.Start(t, oidcprovider.WithClient(client), oidcprovider.WithUser(ana))
	// Registered after start, as a test may do while the provider serves.
	ben := oidcprovider.User{Username: "ben@example.org", Password: "battery staple", Email: "ben@example.org",
		EmailVerified: false, GivenName: "Ben", FamilyName: "Tane"}
	benSub := p.AddUser(ben)
	rp.discover(t, p.Issuer(), client)

	t.Run("verified e-mail", func(t *testing.T) {
		ctx := browser.New(t, browser.DesktopWidth)
		a := rp.start()
		if err := chromedp.Do(ctx, chromedp.Navigate(a.authURL)); err != nil {
			t.Fatal(err)
		}
		signIn(t, ctx, ana.Username, ana.Password)
		code := rp.codeFrom(t, ctx, a)

		tok, err := rp.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatalf("exchange the code: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := rp.verifier.Verify(context.Background(), raw)
		if err != nil {
			t.Fatalf("verify the ID token: %v", err)
		}
		if idt.Nonce != a.nonce {
			t.Error("the ID token's nonce is not the one sent")
		}
		if idt.Issuer != p.Issuer() || !slices.Contains(idt.Audience, client.ID) || idt.Subject == "" || idt.Subject == ana.Email {
			t.Errorf("ID token: issuer %q, audience %v, subject %q", idt.Issuer, idt.Audience, idt.Subject)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("at_hash: %v", err)
		}
		var c claims
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if c.Email != ana.Email || c.EmailVerified == nil || !*c.EmailVerified || c.GivenName != "Ana" || c.FamilyName != "Moana" {
			t.Errorf("ID token claims %+v (email_verified %v)", c, c.EmailVerified)
		}

		// The userinfo endpoint agrees with the ID token.
		info, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		if info.Subject != idt.Subject || info.Email != ana.Email || !info.EmailVerified {
			t.Errorf("userinfo: subject %q, email %q, verified %v", info.Subject, info.Email, info.EmailVerified)
		}

		// A code is good once.
		if _, err := rp.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier)); err == nil {
			t.Error("the same code was exchanged twice")
		}
	})

	t.Run("unverified e-mail is stated as false", func(t *testing.T) {
		ctx := browser.New(t, browser.PhoneWidth)
		a := rp.start()
		if err := chromedp.Do(ctx, chromedp.Navigate(a.authURL)); err != nil {
			t.Fatal(err)
		}
		signIn(t, ctx, ben.Username, ben.Password)
		code := rp.codeFrom(t, ctx, a)
		// Without the verifier whose challenge was sent, the code is worth nothing.
		if _, err := rp.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
			t.Fatal("the code was exchanged with a PKCE verifier that was never sent")
		}
		tok, err := rp.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatalf("exchange the code: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := rp.verifier.Verify(context.Background(), raw)
		if err != nil {
			t.Fatalf("verify the ID token: %v", err)
		}
		if idt.Nonce != a.nonce || idt.Subject != benSub {
			t.Errorf("ID token: nonce matches %v, subject %q, want %q", idt.Nonce == a.nonce, idt.Subject, benSub)
		}
		var c claims
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if c.Email != ben.Email || c.EmailVerified == nil || *c.EmailVerified {
			t.Errorf("ID token claims %+v: want email_verified present and false", c)
		}
	})

	t.Run("wrong password yields no code", func(t *testing.T) {
		ctx := browser.New(t, browser.DesktopWidth)
		a := rp.start()
		if err := chromedp.Do(ctx, chromedp.Navigate(a.authURL)); err != nil {
			t.Fatal(err)
		}
		signIn(t, ctx, ana.Username, "wrong password")
		// The form posts to the provider, which answers with the sign-in page again and a
		// message: the wait is for that answer, after which nothing more happens.
		// The wait queries survive the navigation that the submit starts.
		if err := chromedp.Do(ctx, chromedp.WaitVisible(oidcprovider.LoginError+":not(:empty)")); err != nil {
			t.Fatalf("no message after a wrong password: %v", err)
		}
		msg, err := chromedp.Run(ctx, chromedp.Text(oidcprovider.LoginError))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg, "wrong") {
			t.Errorf("message after a wrong password: %q", msg)
		}
		where, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil || !strings.HasPrefix(where, p.Issuer()+oidcprovider.LoginPath) {
			t.Errorf("after a wrong password the browser is at %q (%v), want the sign-in page", where, err)
		}
		if err := browser.Screenshot(ctx, t.TempDir()+"/wrong-password.png"); err != nil {
			t.Error(err)
		}
		select {
		case q := <-rp.callbacks:
			t.Fatalf("a wrong password reached the callback with %d parameters", len(q))
		default:
		}
		// The same attempt then succeeds with the right password: the page that refused
		// was a working sign-in page, not a broken one.
		signIn(t, ctx, ana.Username, ana.Password)
		if code := rp.codeFrom(t, ctx, a); code == "" {
			t.Fatal("no code")
		}
	})
}
