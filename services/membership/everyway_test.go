package membership_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/pkg/testkit/oidcprovider"
)

// TestOfficerSignsInEveryWay is issue 16's second acceptance: one hub officer, invited by
// e-mail, signs in through their organisation's OpenID provider in Chromium and again with a
// passkey, and each way ends in the same person holding the vic hub grant.
func TestOfficerSignsInEveryWay(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: Mailpit, an OpenID provider and Chromium with a virtual authenticator")
	}
	axe := browser.AxeSource(t)
	mp := testkit.Mailpit(t)
	t.Setenv("COPNET_SMTP_URL", mp.SMTPURL())
	t.Setenv("COPNET_MAIL_FROM", "copnet <no-reply@copnet.example>")
	p := oidcprovider.Start(t)
	t.Setenv("COPNET_OIDC_ISSUER", p.Issuer())
	t.Setenv("COPNET_OIDC_CLIENT_ID", oidcClientID)
	t.Setenv("COPNET_OIDC_CLIENT_SECRET", oidcClientSecret)
	t.Setenv("COPNET_OIDC_NAME", "your Health account")
	// At localhost (the public URL), which passkeys need.
	n, base := startLocalhostNode(t)
	p.AddClient(oidcprovider.Client{ID: oidcClientID, Secret: oidcClientSecret, RedirectURIs: []string{base + "/auth/oidc/callback"}})
	const email = "aroha@vic-health.example"
	vicHub := httpx.Grant{Role: httpx.RoleHub, Region: "vic"}
	holdsVic := func(v meView) bool {
		for _, g := range v.Grants {
			if g == vicHub {
				return true
			}
		}
		return false
	}

	// Invited by national, she accepts through the mailed link.
	if st := n.JSON(t, "POST", "/v1/invitations", n.National(t), map[string]any{"email": email, "name": "Aroha Smith",
		"grant": map[string]string{"role": "hub", "region": "vic"}}, nil); st != http.StatusCreated {
		t.Fatalf("invite: %d", st)
	}
	link := mp.Message(t, mp.WaitFor(t, email).ID).Text
	link = linkIn(t, testkit.MailpitMessage{Text: link})
	invited := browser.New(t, browser.DesktopWidth)
	open(t, invited, link)
	if err := chromedp.Do(invited, chromedp.Click(`#accept`, chromedp.NodeVisible), chromedp.WaitVisible(`#invitation-accepted`)); err != nil {
		t.Fatalf("accept the invitation: %v", err)
	}
	first := me(t, n, accessToken(t, invited, base))
	if first.Person == nil || !holdsVic(first) {
		t.Fatalf("after accepting, /v1/me says %+v", first)
	}

	for _, width := range []int{browser.PhoneWidth, browser.DesktopWidth} {
		// Her organisation's account (same verified address) signs her in as herself.
		ctx := browser.New(t, width)
		u := oidcprovider.User{Username: "aroha", Password: "pw-aroha-correct-horse", Email: email, EmailVerified: true,
			GivenName: "Aroha", FamilyName: "Smith"}
		if width == browser.PhoneWidth {
			u.Subject = p.AddUser(u)
		}
		open(t, ctx, base+"/signin?next=%2Faccount")
		browser.CheckAccessibility(t, ctx, axe, "sign-in page with every way")
		if err := chromedp.Do(ctx, chromedp.Click(`#oidc-signin`), chromedp.WaitVisible(oidcprovider.UsernameField)); err != nil {
			t.Fatalf("to the provider: %v", err)
		}
		signInAtProvider(t, ctx, u, `#grant-list`)
		viaOIDC := me(t, n, accessToken(t, ctx, base))
		if viaOIDC.Person == nil || viaOIDC.Person.ID != first.Person.ID || !holdsVic(viaOIDC) {
			t.Fatalf("after the OpenID sign-in, /v1/me says %+v, want %s holding the vic hub grant", viaOIDC, first.Person.ID)
		}
		shown, err := chromedp.Run(ctx, chromedp.Text(`#grant-list`))
		if err != nil || !strings.Contains(shown, "hub officer of vic") {
			t.Fatalf("the account page lists %q (%v)", shown, err)
		}

		// On this device she adds a passkey, and with the cookies gone it signs her in.
		if _, err := browser.VirtualAuthenticator(ctx); err != nil {
			t.Fatal(err)
		}
		if msg := outcome(t, ctx, `#passkey-register`, `#passkey-added`); msg != "" {
			t.Fatalf("adding a passkey: %s", msg)
		}
		signOut(t, ctx)
		open(t, ctx, base+"/signin")
		if msg := outcome(t, ctx, `#passkey-signin`, `li.who`); msg != "" {
			t.Fatalf("signing in with the passkey: %s", msg)
		}
		viaPasskey := me(t, n, accessToken(t, ctx, base))
		if viaPasskey.Person == nil || viaPasskey.Person.ID != first.Person.ID || !holdsVic(viaPasskey) {
			t.Fatalf("after the passkey sign-in, /v1/me says %+v", viaPasskey)
		}
		browser.CheckAccessibility(t, ctx, axe, "page after the passkey sign-in")
		if err := browser.Screenshot(ctx, filepath.Join(browser.ArtifactsDir, fmt.Sprintf("everyway-%d.png", width))); err != nil {
			t.Fatal(err)
		}
	}
}
