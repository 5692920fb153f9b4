package ports

// Signing in with the organisation's OpenID provider, as the browser sees it: the console's
// sign-in page links to /auth/oidc/start, which sends the browser to the provider; the
// provider sends it back to /auth/oidc/callback, which signs the person in (the session and
// access cookies, then a 303 to where they were going) or sends them back to the sign-in
// page with a message code. Both answer browsers with redirects only, so membership.yaml
// does not document them.

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/internal/app"
)

// Paths of the flow; OIDCCallbackPath is the redirect URI registered at the provider.
const (
	OIDCStartPath    = "/auth/oidc/start"
	OIDCCallbackPath = "/auth/oidc/callback"
)

// oidcCookie holds the state of the sign-in this browser started. The callback requires
// it: a callback URL that an attacker obtained for their own provider account and slips
// to someone else would otherwise sign that person's browser in as the attacker (login
// CSRF). SameSite=Lax still sends it on the provider's redirect back, a top-level GET.
const oidcCookie = "copnet_oidc"

// OIDC serves sign-in with the organisation's OpenID provider.
type OIDC struct {
	auth    *Auth
	flow    *app.OIDCSignIn
	limiter *httpx.Limiter
	log     interface {
		WarnContext(ctx context.Context, msg string, args ...any)
		ErrorContext(ctx context.Context, msg string, args ...any)
	}
}

// NewOIDC returns the OpenID Connect flows; a nil flow (no provider configured) sends
// every browser back to the sign-in page saying it did not work.
func NewOIDC(auth *Auth, flow *app.OIDCSignIn, log interface {
	WarnContext(ctx context.Context, msg string, args ...any)
	ErrorContext(ctx context.Context, msg string, args ...any)
}) *OIDC {
	// Each start stores a row for ten minutes; this bounds how fast one client can add
	// them, well above how often a person clicks "Sign in".
	return &OIDC{auth: auth, flow: flow, limiter: httpx.NewLimiter(time.Second, 30), log: log}
}

// Register mounts the flows on mux.
func (o *OIDC) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+OIDCStartPath, o.start)
	mux.HandleFunc("GET "+OIDCCallbackPath, o.callback)
}

// start sends the browser to the provider with a new flow's state, nonce and PKCE
// challenge, keeping the state in a cookie for the callback.
func (o *OIDC) start(rw http.ResponseWriter, r *http.Request) {
	noStore(rw)
	if err := o.limiter.Allow(httpx.ClientKey(r)); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	next := app.SafeNext(r.URL.Query().Get("next"))
	state, to, err := o.flow.Start(r.Context(), next)
	if err != nil {
		if errors.Is(err, app.ErrOIDCUnavailable) {
			o.log.WarnContext(r.Context(), "sign-in with the OpenID provider cannot start", "error", err)
			back(rw, r, "/signin", url.Values{"error": {"oidc"}, "next": {next}})
			return
		}
		o.auth.failed(rw, r, "start OpenID Connect sign-in", err)
		return
	}
	http.SetCookie(rw, &http.Cookie{Name: oidcCookie, Value: string(state), Path: "/auth/oidc/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: httpx.IsTLS(r), MaxAge: int(app.OIDCFlowTTL / time.Second)})
	http.Redirect(rw, r, to, http.StatusSeeOther)
}

// callback finishes the flow the provider sent the browser back with.
func (o *OIDC) callback(rw http.ResponseWriter, r *http.Request) {
	noStore(rw)
	// The URL holds the code: the page it leads to must not pass it on as a referrer.
	rw.Header().Set("Referrer-Policy", "no-referrer")
	http.SetCookie(rw, &http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/oidc/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: httpx.IsTLS(r)})
	cb, ok := ReadOIDCCallback(r.URL.Query())
	if !ok {
		o.refused(rw, r, "", errors.New("the callback's query is malformed"))
		return
	}
	ck, err := r.Cookie(oidcCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(cb.State)) != 1 {
		// The flow is left alone: the browser that started it may still finish it.
		o.refused(rw, r, "", errors.New("the callback comes to a browser that did not start this sign-in"))
		return
	}
	s, next, err := o.flow.Finish(r.Context(), cb)
	switch {
	case errors.Is(err, app.ErrOIDCEmail):
		back(rw, r, "/signin", url.Values{"error": {"oidc-email"}, "next": {app.SafeNext(next)}})
	case errors.Is(err, app.ErrNoAccount):
		back(rw, r, "/signin", url.Values{"error": {"no-account"}, "next": {app.SafeNext(next)}})
	case errors.Is(err, app.ErrOIDCRefused), errors.Is(err, app.ErrOIDCUnavailable):
		o.refused(rw, r, next, err)
	case err != nil:
		o.auth.failed(rw, r, "finish OpenID Connect sign-in", err)
	default:
		o.auth.signIn(rw, r, s, next)
	}
}

// refused sends the browser back to the sign-in page and logs why, which names no code,
// state, token or address.
func (o *OIDC) refused(rw http.ResponseWriter, r *http.Request, next string, why error) {
	o.log.WarnContext(r.Context(), "OpenID Connect sign-in refused", "reason", why.Error())
	back(rw, r, "/signin", url.Values{"error": {"oidc"}, "next": {app.SafeNext(next)}})
}

func noStore(rw http.ResponseWriter) { rw.Header().Set("Cache-Control", "no-store") }

// Bounds of what a provider sends back. Real codes and states are far shorter; the
// bounds keep a crafted URL from reaching the database or the provider.
const (
	maxOIDCState = 128
	maxOIDCCode  = 4096
	maxOIDCError = 256
)

// ReadOIDCCallback reads the provider's redirect back: a state and either a code or an
// error (RFC 6749 4.1.2). A parameter given twice, a missing state, both a code and an
// error or neither, or a value too long or not printable ASCII is malformed (false):
// nothing of it is looked up.
func ReadOIDCCallback(q url.Values) (app.OIDCCallback, bool) {
	one := func(name string, max int) (string, bool) {
		vs := q[name]
		if len(vs) > 1 {
			return "", false
		}
		if len(vs) == 0 {
			return "", true
		}
		v := vs[0]
		if len(v) > max {
			return "", false
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return "", false
			}
		}
		return v, true
	}
	state, ok1 := one("state", maxOIDCState)
	code, ok2 := one("code", maxOIDCCode)
	perr, ok3 := one("error", maxOIDCError)
	if !ok1 || !ok2 || !ok3 || state == "" || (code == "") == (perr == "") {
		return app.OIDCCallback{}, false
	}
	return app.OIDCCallback{State: state, Code: code, Error: perr}, true
}
