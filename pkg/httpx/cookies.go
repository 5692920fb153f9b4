package httpx

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
)

// The cookies of a signed-in browser, shared by membership (which signs people in) and the
// console (whose pages they use):
//   - SessionCookie holds the session's secret (membership keeps only its hash); it lives as
//     long as the session and is what refreshes the access token.
//   - AccessCookie holds a short-lived access token, verified locally like a bearer token.
//   - CSRFCookie is the double-submit token every form post carries as CSRFField: another
//     site can make the browser send the cookie, but cannot read it to put it in the form.
//
// Session and access cookies are SameSite=Lax: a sign-in link opened from a mail is a
// cross-site navigation, and the page it lands on must see the cookies; every state change
// is a form post, which Lax withholds cross-site and the CSRF token checks besides.
const (
	SessionCookie = "copnet_session"
	AccessCookie  = "copnet_access"
	CSRFCookie    = "copnet_csrf"
	CSRFField     = "csrf"
)

// IsTLS says whether the browser reached us over HTTPS, directly or through a proxy, so
// cookies are marked Secure exactly when they can be.
func IsTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// SetCookie sets an HttpOnly, SameSite=Lax cookie for the whole site, Secure over TLS;
// expires zero makes it last as long as the browser session.
func SetCookie(rw http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	http.SetCookie(rw, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: IsTLS(r), Expires: expires})
}

// ClearCookie removes a cookie SetCookie set.
func ClearCookie(rw http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(rw, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: IsTLS(r)})
}

// CSRFToken returns the browser's double-submit token, setting the cookie when it has none.
func CSRFToken(rw http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(CSRFCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(rw, &http.Cookie{Name: CSRFCookie, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: IsTLS(r)})
	return tok
}

// CheckCSRF rejects a form post whose hidden token does not match its cookie.
func CheckCSRF(r *http.Request) error {
	ck, err := r.Cookie(CSRFCookie)
	form := r.PostFormValue(CSRFField)
	if err != nil || len(ck.Value) < 32 || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		return apperr.Forbidden("the form's CSRF token is missing or does not match; reload the page and try again")
	}
	return nil
}

// CookieClaims returns the caller of a browser request: its access cookie, verified by v.
func CookieClaims(r *http.Request, v Verifier) (string, Claims, bool) {
	ck, err := r.Cookie(AccessCookie)
	if err != nil || ck.Value == "" {
		return "", Claims{}, false
	}
	c, err := v.Verify(ck.Value)
	if err != nil {
		return "", Claims{}, false
	}
	return ck.Value, c, true
}
