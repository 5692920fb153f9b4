package ports

// Passkey ceremonies for the console's passkey.js: JSON in and out, errors as
// problem+json. Every route requires the X-CSRF-Token header to equal the copnet_csrf
// cookie (which the console's pages set and copy into the page): registering is
// authenticated by cookie, and a sign-in another site could finish in the browser with the
// attacker's own passkey would sign the browser in as the attacker (login CSRF). A
// cross-site page can neither read the cookie nor set the header without a CORS preflight
// nobody answers.

import (
	"crypto/subtle"
	"errors"
	"io"
	"net/http"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/internal/app"
)

// CSRFHeader carries the double-submit token on the passkey routes' fetch requests.
const CSRFHeader = "X-CSRF-Token"

// maxCredentialBody bounds a browser's answer: a credential with its attestation statement
// (certificates included) is a few kilobytes.
const maxCredentialBody = 64 << 10

// Passkeys serves the passkey ceremonies.
type Passkeys struct {
	auth *Auth
	// pk is nil when the node cannot offer passkeys (off says why).
	pk  *app.Passkeys
	off error
	// logins paces anonymous sign-in ceremonies per client.
	logins *httpx.Limiter
}

// NewPasskeys serves pk's ceremonies, setting cookies as auth's flows do; pk nil answers
// every route with off.
func NewPasskeys(auth *Auth, pk *app.Passkeys, off error, logins *httpx.Limiter) *Passkeys {
	return &Passkeys{auth: auth, pk: pk, off: off, logins: logins}
}

// Register mounts the ceremonies on mux.
func (p *Passkeys) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /auth/passkey/register/begin", p.guard(p.registerBegin))
	mux.HandleFunc("POST /auth/passkey/register/finish", p.guard(p.registerFinish))
	mux.HandleFunc("POST /auth/passkey/login/begin", p.guard(p.loginBegin))
	mux.HandleFunc("POST /auth/passkey/login/finish", p.guard(p.loginFinish))
}

// guard answers for a node without passkeys and checks the CSRF header.
func (p *Passkeys) guard(h http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if p.pk == nil {
			httpx.WriteProblem(rw, r, apperr.NotFound("passkeys are not available on this node: %v", p.off))
			return
		}
		if err := CheckCSRFHeader(r); err != nil {
			httpx.WriteProblem(rw, r, err)
			return
		}
		h(rw, r)
	}
}

// CheckCSRFHeader rejects a request whose X-CSRF-Token header does not match its
// copnet_csrf cookie.
func CheckCSRFHeader(r *http.Request) error {
	ck, err := r.Cookie(httpx.CSRFCookie)
	if err != nil || len(ck.Value) < 32 || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.Header.Get(CSRFHeader))) != 1 {
		return apperr.Forbidden("the request's %s header is missing or does not match the page's CSRF cookie; reload the page and try again", CSRFHeader)
	}
	return nil
}

// caller is the signed-in person of a cookie-authenticated request.
func (p *Passkeys) caller(r *http.Request) (httpx.Claims, error) {
	_, c, ok := httpx.CookieClaims(r, p.auth.verifier)
	if !ok {
		return httpx.Claims{}, apperr.Unauthenticated("you are not signed in, or your sign-in has lapsed: reload the page and try again")
	}
	return c, nil
}

// emptyBody reads a begin request's body: nothing, or an empty JSON object.
func emptyBody(r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	var in struct{}
	return httpx.DecodeJSON(r, &in)
}

// credentialBody reads a finish request's body whole, for the credential parsers.
func credentialBody(r *http.Request) ([]byte, error) {
	if !isJSON(r) {
		return nil, apperr.Invalid("Content-Type", "must be application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCredentialBody+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || len(body) > maxCredentialBody:
		return nil, apperr.TooLarge("body", "is larger than a passkey credential can be")
	case err != nil:
		return nil, err
	}
	return body, nil
}

func ceremonyID(r *http.Request) (string, error) {
	id := r.URL.Query().Get("ceremony")
	if id == "" || len(id) > 128 {
		return "", apperr.Invalid("ceremony", "is required: the id that begin answered")
	}
	return id, nil
}

func (p *Passkeys) registerBegin(rw http.ResponseWriter, r *http.Request) {
	c, err := p.caller(r)
	if err == nil {
		err = emptyBody(r)
	}
	var out *app.Begun
	if err == nil {
		out, err = p.pk.BeginRegistration(r.Context(), c)
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	httpx.WriteJSON(rw, http.StatusOK, out)
}

// ParseRegistrationRequest reads a register/finish request: its ceremony and the browser's
// new credential.
func ParseRegistrationRequest(r *http.Request) (string, *app.ParsedCreation, error) {
	id, err := ceremonyID(r)
	if err != nil {
		return "", nil, err
	}
	body, err := credentialBody(r)
	if err != nil {
		return "", nil, err
	}
	parsed, err := app.ParseCredentialCreation(body)
	return id, parsed, err
}

// ParseLoginRequest reads a login/finish request: its ceremony and the browser's assertion.
func ParseLoginRequest(r *http.Request) (string, *app.ParsedAssertion, error) {
	id, err := ceremonyID(r)
	if err != nil {
		return "", nil, err
	}
	body, err := credentialBody(r)
	if err != nil {
		return "", nil, err
	}
	parsed, err := app.ParseCredentialAssertion(body)
	return id, parsed, err
}

func (p *Passkeys) registerFinish(rw http.ResponseWriter, r *http.Request) {
	c, err := p.caller(r)
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	id, parsed, err := ParseRegistrationRequest(r)
	if err == nil {
		err = p.pk.FinishRegistration(r.Context(), c, id, parsed)
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	httpx.WriteJSON(rw, http.StatusCreated, map[string]string{"status": "added"})
}

func (p *Passkeys) loginBegin(rw http.ResponseWriter, r *http.Request) {
	err := p.logins.Allow(httpx.ClientKey(r))
	if err == nil {
		err = emptyBody(r)
	}
	var out *app.Begun
	if err == nil {
		out, err = p.pk.BeginLogin(r.Context())
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	httpx.WriteJSON(rw, http.StatusOK, out)
}

// loginFinish signs the browser in: the cookies as after an e-mail link, and JSON saying
// where to go, since passkey.js (not a redirect) moves the page on.
func (p *Passkeys) loginFinish(rw http.ResponseWriter, r *http.Request) {
	id, parsed, err := ParseLoginRequest(r)
	var s *app.Session
	if err == nil {
		s, err = p.pk.FinishLogin(r.Context(), id, parsed)
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	if p.auth.setSessionCookies(rw, r, s) {
		httpx.WriteJSON(rw, http.StatusOK, map[string]string{"next": app.SafeNext(r.URL.Query().Get("next"))})
	}
}
