package ports

// The console's side of signing in: the pages. Membership runs the flows (/auth/*): it
// answers these pages' forms and links, sets the session and access cookies, and sends the
// browser back here with a message code (?sent=1, ?error=link ...) that the page words.

import (
	"net/http"
	"net/url"

	"github.com/copnet/copnet/pkg/httpx"
)

// SignIn is what the sign-in page offers besides the e-mail link.
type SignIn struct {
	// OIDC names the organisation's OpenID provider; empty when there is none.
	OIDC string
}

// signinView is the sign-in page's own data.
type signinView struct {
	Next     string
	OIDC     string
	OIDCLink string
	Sent     bool
}

// signinMessages words the codes membership's flows send the browser back with.
var signinMessages = map[string]string{
	"link":       "That sign-in link cannot be used: links work once, for 15 minutes. Ask for a new one below.",
	"no-account": "There is no copnet account for that address, and this network registers people by invitation. Ask your hub or coordinator to invite you.",
	"email":      "That does not look like an e-mail address. Check it and try again.",
	"session":    "Your session has ended. Sign in again to carry on.",
	"oidc":       "Signing in with your organisation's account did not work. Try again, or use an e-mail link.",
	"oidc-email": "Your organisation's account did not confirm an e-mail address, so it cannot be linked to a copnet account. Use an e-mail link instead.",
	"passkey":    "That passkey was not recognised. Use an e-mail link, then add the passkey again from your account page.",
}

// signinPage offers the three ways in: an e-mail link, the organisation's account, a
// passkey. It never signs anyone in by itself: a GET that did would let another site sign a
// browser in as the site's own account (login CSRF).
func (w *Web) signinPage(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next := safeNext(q.Get("next"))
	v := signinView{Next: next, Sent: q.Get("sent") == "1", OIDC: w.signIn.OIDC}
	if v.OIDC != "" {
		v.OIDCLink = "/auth/oidc/start?" + url.Values{"next": {next}}.Encode()
	}
	d := pageData{Title: "Sign in", CSRF: httpx.CSRFToken(rw, r), SignIn: &v, Error: signinMessages[q.Get("error")]}
	switch q.Get("signedout") {
	case "1":
		d.Notice = "You are signed out."
	case "everywhere":
		d.Notice = "You are signed out on every device, and every token you held has stopped working."
	}
	if c, ok := w.whoIs(r); ok {
		d.Caller = c.claims
	}
	w.pages.render(rw, r, http.StatusOK, "signin", d)
}

// setupPage is where a setup link lands: the first national administrator gives their name
// and e-mail address, and membership makes them one (POST /auth/setup).
func (w *Web) setupPage(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := pageData{Title: "Set up copnet", CSRF: httpx.CSRFToken(rw, r), Ticket: q.Get("t")}
	switch q.Get("error") {
	case "fields":
		d.Error = "Give your name and an e-mail address you can receive mail at."
	case "used":
		d.Error = "This setup link has been used already: a link works once. Sign in instead, or run `copnet link` for a new one."
	case "expired":
		d.Error = "This setup link has expired. Run `copnet link` on the server for a new one."
	case "invalid":
		d.Error = "This setup link is not valid. Check that you copied all of it, or run `copnet link` for a new one."
	}
	w.pages.render(rw, r, http.StatusOK, "setup", d)
}

// accountPage shows who is signed in, what they hold, and the ways to manage it: a passkey
// for this device, signing out everywhere.
func (w *Web) accountPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.pages.render(rw, r, http.StatusOK, "account", pageData{Title: "Your account", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r)})
}

// safeNext keeps a "where they were going" only if it is a path on this site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.Scheme != "" || u.Host != "" || len(next) > 512 ||
		next[0] != '/' || (len(next) > 1 && (next[1] == '/' || next[1] == '\\')) {
		return "/"
	}
	return next
}
