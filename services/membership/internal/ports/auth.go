package ports

// The browser's side of signing in: forms and links that end in the session and access
// cookies (pkg/httpx cookies.go), then a 303 to where the person was going. The pages
// themselves (the sign-in page with its three ways, the setup form) are the console's; these
// routes answer their forms and redirect back to them with what happened.

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/internal/app"
)

// Auth serves the sign-in flows.
type Auth struct {
	id       *app.Identity
	verifier httpx.Verifier
	limiter  *httpx.Limiter
	log      interface {
		ErrorContext(ctx context.Context, msg string, args ...any)
	}
}

// NewAuth returns the sign-in flows of id; limiter paces requests for sign-in links.
func NewAuth(id *app.Identity, v httpx.Verifier, limiter *httpx.Limiter, log interface {
	ErrorContext(ctx context.Context, msg string, args ...any)
}) *Auth {
	return &Auth{id: id, verifier: v, limiter: limiter, log: log}
}

// DocumentedFlows are the routes outside the JSON route table that membership.yaml documents
// (the others answer browsers with redirects to console pages).
var DocumentedFlows = []string{"POST /auth/email", "GET /.well-known/jwks.json",
	"POST /auth/passkey/register/begin", "POST /auth/passkey/register/finish",
	"POST /auth/passkey/login/begin", "POST /auth/passkey/login/finish"}

// Register mounts the flows on mux.
func (a *Auth) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /auth/email", a.email)
	mux.HandleFunc("GET /auth/link", a.link)
	mux.HandleFunc("GET /auth/refresh", a.refresh)
	mux.HandleFunc("POST /auth/setup", a.setup)
	mux.HandleFunc("POST /auth/signout", a.signout)
	mux.HandleFunc("POST /auth/signout-everywhere", a.signoutEverywhere)
}

func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// back sends the browser to a console page with a message code it shows.
func back(rw http.ResponseWriter, r *http.Request, page string, q url.Values) {
	if len(q) > 0 {
		page += "?" + q.Encode()
	}
	http.Redirect(rw, r, page, http.StatusSeeOther)
}

// email asks for a sign-in link: JSON {"email", "next"} answers 202, a form answers a 303
// to the sign-in page saying to look in the mailbox. Both the same whether or not the
// address has an account.
func (a *Auth) email(rw http.ResponseWriter, r *http.Request) {
	if err := a.limiter.Allow(httpx.ClientKey(r)); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	if isJSON(r) {
		var in struct {
			Email string `json:"email"`
			Next  string `json:"next"`
		}
		if err := httpx.DecodeJSON(r, &in); err != nil {
			httpx.WriteProblem(rw, r, err)
			return
		}
		if err := a.id.RequestSigninLink(r.Context(), in.Email, in.Next); err != nil {
			httpx.WriteProblem(rw, r, err)
			return
		}
		httpx.WriteJSON(rw, http.StatusAccepted, map[string]string{"status": "sent",
			"detail": "if this address may sign in, a link valid for 15 minutes is on its way"})
		return
	}
	if err := httpx.CheckCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	err := a.id.RequestSigninLink(r.Context(), r.PostFormValue("email"), r.PostFormValue("next"))
	var ae *apperr.Error
	switch {
	case errors.As(err, &ae) && ae.Kind == apperr.KindInvalid:
		back(rw, r, "/signin", url.Values{"error": {"email"}})
	case err != nil:
		a.failed(rw, r, "sign-in link", err)
	default:
		back(rw, r, "/signin", url.Values{"sent": {"1"}})
	}
}

// failed answers an error of ours without saying more than the correlation id.
func (a *Auth) failed(rw http.ResponseWriter, r *http.Request, what string, err error) {
	a.log.ErrorContext(r.Context(), what, "error", err)
	httpx.WriteProblem(rw, r, err)
}

// signIn sets the cookies of a new session and sends the browser on.
func (a *Auth) signIn(rw http.ResponseWriter, r *http.Request, s *app.Session, next string) {
	if a.setSessionCookies(rw, r, s) {
		http.Redirect(rw, r, app.SafeNext(next), http.StatusSeeOther)
	}
}

// setSessionCookies sets the cookies of a new session; false when it answered an error.
func (a *Auth) setSessionCookies(rw http.ResponseWriter, r *http.Request, s *app.Session) bool {
	tok, err := a.id.AccessToken(r.Context(), s.PersonID)
	if err != nil {
		a.failed(rw, r, "access token", err)
		return false
	}
	httpx.SetCookie(rw, r, httpx.SessionCookie, string(s.Secret), s.Expires)
	httpx.SetCookie(rw, r, httpx.AccessCookie, tok, time.Now().Add(access.TokenTTL))
	return true
}

// link opens an e-mailed sign-in link: it signs the person in and sends them on (303).
func (a *Auth) link(rw http.ResponseWriter, r *http.Request) {
	s, next, err := a.id.SignInWithLink(r.Context(), app.Secret(r.URL.Query().Get("t")))
	switch {
	case errors.Is(err, app.ErrLinkUnusable):
		back(rw, r, "/signin", url.Values{"error": {"link"}})
	case errors.Is(err, app.ErrNoAccount):
		back(rw, r, "/signin", url.Values{"error": {"no-account"}})
	case err != nil:
		a.failed(rw, r, "sign in with link", err)
	default:
		a.signIn(rw, r, s, next)
	}
}

// refresh gives a signed-in browser a fresh access token from its session cookie.
func (a *Auth) refresh(rw http.ResponseWriter, r *http.Request) {
	next := app.SafeNext(r.URL.Query().Get("next"))
	ck, err := r.Cookie(httpx.SessionCookie)
	if err != nil || ck.Value == "" {
		back(rw, r, "/signin", url.Values{"next": {next}})
		return
	}
	person, err := a.id.Resume(r.Context(), app.Secret(ck.Value))
	if err != nil {
		if k, _ := apperr.KindOf(err); k != apperr.KindUnauthenticated {
			a.failed(rw, r, "resume session", err)
			return
		}
		httpx.ClearCookie(rw, r, httpx.SessionCookie)
		httpx.ClearCookie(rw, r, httpx.AccessCookie)
		back(rw, r, "/signin", url.Values{"next": {next}, "error": {"session"}})
		return
	}
	tok, err := a.id.AccessToken(r.Context(), person)
	if err != nil {
		a.failed(rw, r, "access token", err)
		return
	}
	httpx.SetCookie(rw, r, httpx.AccessCookie, tok, time.Now().Add(access.TokenTTL))
	http.Redirect(rw, r, next, http.StatusSeeOther)
}

// setup redeems a setup link's form: name and e-mail of the first national administrator.
func (a *Auth) setup(rw http.ResponseWriter, r *http.Request) {
	if err := httpx.CheckCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	t := r.PostFormValue("t")
	s, err := a.id.RedeemSetup(r.Context(), t, r.PostFormValue("name"), r.PostFormValue("email"))
	var ae *apperr.Error
	switch {
	case errors.Is(err, app.ErrTicketInvalid):
		back(rw, r, app.SetupPath, url.Values{"t": {t}, "error": {"invalid"}})
	case errors.Is(err, app.ErrTicketExpired):
		back(rw, r, app.SetupPath, url.Values{"t": {t}, "error": {"expired"}})
	case errors.Is(err, app.ErrTicketUsed):
		back(rw, r, app.SetupPath, url.Values{"t": {t}, "error": {"used"}})
	case errors.As(err, &ae) && ae.Kind == apperr.KindInvalid:
		back(rw, r, app.SetupPath, url.Values{"t": {t}, "error": {"fields"}})
	case err != nil:
		a.failed(rw, r, "setup", err)
	default:
		a.signIn(rw, r, s, "/")
	}
}

func (a *Auth) signout(rw http.ResponseWriter, r *http.Request) {
	if err := httpx.CheckCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	if ck, err := r.Cookie(httpx.SessionCookie); err == nil && ck.Value != "" {
		if err := a.id.SignOut(r.Context(), app.Secret(ck.Value)); err != nil {
			a.failed(rw, r, "sign out", err)
			return
		}
	}
	httpx.ClearCookie(rw, r, httpx.SessionCookie)
	httpx.ClearCookie(rw, r, httpx.AccessCookie)
	back(rw, r, "/signin", url.Values{"signedout": {"1"}})
}

func (a *Auth) signoutEverywhere(rw http.ResponseWriter, r *http.Request) {
	if err := httpx.CheckCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	_, c, ok := httpx.CookieClaims(r, a.verifier)
	if !ok {
		back(rw, r, "/auth/refresh", url.Values{"next": {"/account"}})
		return
	}
	if err := a.id.SignOutEverywhere(r.Context(), c); err != nil {
		a.failed(rw, r, "sign out everywhere", err)
		return
	}
	httpx.ClearCookie(rw, r, httpx.SessionCookie)
	httpx.ClearCookie(rw, r, httpx.AccessCookie)
	back(rw, r, "/signin", url.Values{"signedout": {"everywhere"}})
}
