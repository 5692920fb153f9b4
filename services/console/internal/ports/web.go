// Package ports serves the console: HTML pages for people, and the read API under
// /v1/network for reports and tools. Both show the same figures from the same projection.
package ports

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console/internal/projection"
)

// Cookie names. The session cookie holds the signed-in person's token itself, so the
// console keeps no session table and a sign-out just drops the cookie.
const (
	SessionCookie = "copnet_session"
	CSRFCookie    = "copnet_csrf"
	// CSRFField is the hidden form field every form post must carry, equal to CSRFCookie
	// (double submit: another site can make the browser send the cookie, but cannot read it
	// to put it in the form).
	CSRFField = "csrf"
)

// Web serves the pages and the read API.
type Web struct {
	store    *projection.Store
	verifier httpx.Verifier
	apiURL   string
	client   *http.Client
	log      *slog.Logger
	pages    *pages
	// links redeems single-use sign-in links (signin.go); nil when the node has no secret.
	links *signinLinks
}

// NewWeb returns the console's HTTP port. apiURL is the registry's base URL; empty means
// the server the request came in on.
func NewWeb(store *projection.Store, v httpx.Verifier, apiURL string, log *slog.Logger) *Web {
	if log == nil {
		log = slog.Default()
	}
	return &Web{store: store, verifier: v, apiURL: strings.TrimRight(apiURL, "/"),
		client: &http.Client{Timeout: 15 * time.Second}, log: log, pages: mustParsePages()}
}

// Route is one route the console serves.
type Route struct {
	Method, Path string
	handler      http.HandlerFunc
}

// APIRoutes are the read API's routes, documented in schemas/openapi/console.yaml.
func (w *Web) APIRoutes() []Route {
	return []Route{
		{"GET", "/v1/network/summary", w.networkRead(w.apiSummary)},
		{"GET", "/v1/network/summary.csv", w.apiSummaryCSV},
		{"GET", "/v1/network/regions/{id}", w.networkRead(w.apiRegion)},
		{"GET", "/v1/network/overlaps", w.networkRead(w.apiOverlaps)},
		{"GET", "/v1/network/gaps", w.networkRead(w.apiGaps)},
	}
}

// PageRoutes are the routes people's browsers use.
func (w *Web) PageRoutes() []Route {
	return []Route{
		{"GET", "/{$}", w.nationalPage},
		{"GET", "/regions/{id}", w.regionPage},
		{"GET", "/cops/{id}", w.copPage},
		{"POST", "/cops/{id}/decision", w.decide},
		{"GET", "/signin", w.signinPage},
		{"POST", "/signin", w.signin},
		{"GET", SigninLinkPath, w.signinLinkPage},
		{"POST", SigninLinkPath, w.signinWithLink},
		{"POST", "/signout", w.signout},
		{"GET", "/static/{file}", w.static},
	}
}

// Register mounts every route.
func (w *Web) Register(mux *http.ServeMux) {
	for _, rt := range append(w.APIRoutes(), w.PageRoutes()...) {
		mux.HandleFunc(rt.Method+" "+rt.Path, rt.handler)
	}
}

// caller is who is asking, and the token to act with on their behalf.
type caller struct {
	claims httpx.Claims
	token  string
}

// whoIs returns the caller of a bearer request (verified by the node) or of a signed-in
// browser (its session cookie, verified here); ok is false for anonymous callers.
func (w *Web) whoIs(r *http.Request) (caller, bool) {
	if c, ok := httpx.ClaimsFrom(r.Context()); ok {
		_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		return caller{claims: c, token: strings.TrimSpace(tok)}, true
	}
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return caller{}, false
	}
	c, err := w.verifier.Verify(ck.Value)
	if err != nil {
		return caller{}, false
	}
	return caller{claims: c, token: ck.Value}, true
}

// csrfToken returns the browser's double-submit token, setting the cookie when it has none.
func csrfToken(rw http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(CSRFCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(rw, &http.Cookie{Name: CSRFCookie, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: isTLS(r)})
	return tok
}

// checkCSRF rejects a form post whose hidden token does not match its cookie.
func checkCSRF(r *http.Request) error {
	ck, err := r.Cookie(CSRFCookie)
	form := r.PostFormValue(CSRFField)
	if err != nil || len(ck.Value) < 32 || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		return apperr.Forbidden("the form's CSRF token is missing or does not match; reload the page and try again")
	}
	return nil
}

// isTLS says whether the browser reached us over HTTPS, directly or through a proxy, so
// cookies are marked Secure exactly when they can be.
func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (w *Web) setSession(rw http.ResponseWriter, r *http.Request, token string) {
	ck := &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: isTLS(r)}
	if exp := tokenExpiry(token); !exp.IsZero() {
		ck.Expires = exp
	}
	http.SetCookie(rw, ck)
}

// tokenExpiry reads a JWT's exp claim, already verified, so the cookie lives no longer
// than the token it carries.
func tokenExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(raw, &c) != nil || c.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(c.Exp, 0)
}

// signinPage shows the paste-a-token form. It never signs in by itself, whatever its query
// says: a GET that did would let another site sign a browser in as the site's own account
// (login CSRF). Links sign in through signin.go's Continue button.
func (w *Web) signinPage(rw http.ResponseWriter, r *http.Request) {
	w.pages.render(rw, r, http.StatusOK, "signin", pageData{Title: "Sign in", CSRF: csrfToken(rw, r)})
}

func (w *Web) signin(rw http.ResponseWriter, r *http.Request) {
	if err := checkCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	w.completeSignin(rw, r, strings.TrimSpace(r.PostFormValue("token")))
}

func (w *Web) completeSignin(rw http.ResponseWriter, r *http.Request, tok string) {
	if _, err := w.verifier.Verify(tok); err != nil {
		msg := "That token could not be verified. Check that you pasted all of it and that it has not expired."
		w.pages.render(rw, r, http.StatusUnauthorized, "signin", pageData{Title: "Sign in", CSRF: csrfToken(rw, r), Error: msg})
		return
	}
	w.setSession(rw, r, tok)
	// A page that moves on by itself rather than a 303: after a cross-site navigation
	// (a link clicked in a terminal) the browser would not send a SameSite=Strict cookie
	// on the redirected request, and the person would land on the sign-in form again.
	w.pages.render(rw, r, http.StatusOK, "signedin", pageData{Title: "Signed in"})
}

func (w *Web) signout(rw http.ResponseWriter, r *http.Request) {
	if err := checkCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	http.SetCookie(rw, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: isTLS(r)})
	http.Redirect(rw, r, "/signin", http.StatusSeeOther)
}

// pageCaller returns the signed-in caller of a page, or sends the browser to sign in.
func (w *Web) pageCaller(rw http.ResponseWriter, r *http.Request) (caller, bool) {
	c, ok := w.whoIs(r)
	if !ok {
		http.Redirect(rw, r, "/signin", http.StatusSeeOther)
	}
	return c, ok
}

func (w *Web) nationalPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	// The network view is national's; anyone else starts at the first place their grants
	// cover (a hub officer's region, else a coordinated CoP).
	hubs, coords := c.claims.Scopes(httpx.RoleHub), c.claims.Scopes(httpx.RoleCoordinator)
	switch {
	case c.claims.IsNational():
	case len(hubs) > 0:
		http.Redirect(rw, r, "/regions/"+url.PathEscape(hubs[0]), http.StatusSeeOther)
		return
	case len(coords) > 0:
		http.Redirect(rw, r, "/cops/"+url.PathEscape(coords[0]), http.StatusSeeOther)
		return
	default:
		w.pageError(rw, r, c, apperr.Forbidden("members have no console pages; the console is for the secretariat, hubs and coordinators"))
		return
	}
	n, err := w.store.Network(r.Context())
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	w.pages.render(rw, r, http.StatusOK, "national", pageData{Title: "National network", Caller: c.claims,
		CSRF: csrfToken(rw, r), Network: n})
}

func (w *Web) regionPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderRegion(rw, r, c, r.PathValue("id"), http.StatusOK, "", "")
}

// decisionNotice tells the hub where its decision stands, said plainly because the queue
// does not change at once: the registry decides, and its event brings the result back.
func decisionNotice(r *http.Request, d *projection.RegionDetail) string {
	q := r.URL.Query()
	sent, id := q.Get("sent"), q.Get("cop")
	if (sent != "approval" && sent != "decline") || id == "" {
		return ""
	}
	for _, p := range d.Queue {
		if p.ID == id {
			return fmt.Sprintf("Your %s of %s was sent to the registry. It shows here as soon as the registry confirms it; reload in a moment.", sent, p.Name)
		}
	}
	for _, h := range d.Health {
		if h.ID == id {
			return fmt.Sprintf("%s is now %s.", h.Name, h.Status)
		}
	}
	return fmt.Sprintf("The registry recorded your %s.", sent)
}

func (w *Web) renderRegion(rw http.ResponseWriter, r *http.Request, c caller, id string, status int, notice, problem string) {
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	if err := httpx.Authorize(c.claims, c.claims.IsNational() || c.claims.IsHubOf(id), "see region "+id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d, err := w.store.Region(r.Context(), id)
	if errors.Is(err, projection.ErrNotFound) {
		err = apperr.NotFound("the console has no events about region %q yet", id)
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	if notice == "" {
		notice = decisionNotice(r, d)
	}
	w.pages.render(rw, r, status, "region", pageData{Title: "Region " + d.Name, Caller: c.claims, CSRF: csrfToken(rw, r),
		Region: d, Notice: notice, Error: problem})
}

func (w *Web) copPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	if !c.claims.IsNational() && !c.claims.IsCoordinatorOf(id) {
		region, err := w.store.RegionOf(r.Context(), id)
		if err != nil && !errors.Is(err, projection.ErrNotFound) {
			w.pageError(rw, r, c, err)
			return
		}
		// An unknown CoP is forbidden rather than missing for a hub, so that a hub cannot
		// learn which ids exist elsewhere.
		if err := httpx.Authorize(c.claims, err == nil && c.claims.IsHubOf(region), "see CoP "+id); err != nil {
			w.pageError(rw, r, c, err)
			return
		}
	}
	d, err := w.store.CoP(r.Context(), id)
	if errors.Is(err, projection.ErrNotFound) {
		err = apperr.NotFound("the console has no events about CoP %q yet", id)
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	w.pages.render(rw, r, http.StatusOK, "cop", pageData{Title: d.Name, Caller: c.claims, CSRF: csrfToken(rw, r), CoP: d})
}

// decide forwards a hub's (or national's) approve or decline to the registry with the
// person's own token: the registry decides whether they may, the console only carries
// the request. The decision shows on the page once the registry's event comes back.
func (w *Web) decide(rw http.ResponseWriter, r *http.Request) {
	if err := checkCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	c, ok := w.whoIs(r)
	if !ok {
		httpx.WriteProblem(rw, r, apperr.Unauthenticated("sign in to decide on a proposal"))
		return
	}
	id := r.PathValue("id")
	form, err := parseDecision(r)
	if err == nil {
		err = checkID("id", id)
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	region, err := w.store.RegionOf(r.Context(), id)
	if err != nil {
		w.pageError(rw, r, c, apperr.NotFound("the console has no events about CoP %q yet", id))
		return
	}
	decision := form.Decision
	body, _ := json.Marshal(map[string]string{"decision": decision, "reason": form.Reason})
	status, detail, err := w.forward(r, c.token, "/v1/cops/"+url.PathEscape(id)+"/decision", body)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward decision to the registry", "cop", id, "error", err)
		w.renderRegion(rw, r, c, region, http.StatusBadGateway, "", "The registry could not be reached; nothing was decided. Try again in a moment.")
		return
	}
	if status >= 300 {
		w.renderRegion(rw, r, c, region, status, "", "The registry refused: "+detail)
		return
	}
	verb := map[string]string{"approve": "approval", "decline": "decline"}[decision]
	http.Redirect(rw, r, "/regions/"+url.PathEscape(region)+"?sent="+url.QueryEscape(verb)+"&cop="+url.QueryEscape(id), http.StatusSeeOther)
}

// forward POSTs body to the registry and returns its status and problem detail.
func (w *Web) forward(r *http.Request, token, path string, body []byte) (int, string, error) {
	base := w.apiURL
	if base == "" {
		// The all-in-one serves the registry on this same server: call the address this
		// request came in on, never one taken from the Host header.
		addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if !ok {
			return 0, "", errors.New("no local address to reach the registry; set COPNET_CONSOLE_API_URL")
		}
		base = "http://" + addr.String()
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if id := httpx.CorrelationID(r.Context()); id != "" {
		req.Header.Set(httpx.CorrelationHeader, id)
	}
	res, err := w.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 300 {
		return res.StatusCode, "", nil
	}
	var p httpx.Problem
	_ = json.Unmarshal(raw, &p)
	detail := p.Detail
	for _, f := range p.Errors {
		detail += fmt.Sprintf(" (%s %s)", f.Field, f.Message)
	}
	if detail == "" {
		detail = http.StatusText(res.StatusCode)
	}
	return res.StatusCode, detail, nil
}

// pageError shows an error as a page, with the status the API would give.
func (w *Web) pageError(rw http.ResponseWriter, r *http.Request, c caller, err error) {
	status := http.StatusInternalServerError
	msg := "Something went wrong on our side. Quote the correlation id " + httpx.CorrelationID(r.Context()) + " when reporting it."
	var ae *apperr.Error
	if errors.As(err, &ae) {
		if s, ok := httpx.StatusOf(ae.Kind); ok {
			status, msg = s, ae.Detail
		}
	}
	if status == http.StatusInternalServerError {
		w.log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "error", err)
	}
	w.pages.render(rw, r, status, "error", pageData{Title: http.StatusText(status), Caller: c.claims,
		CSRF: csrfToken(rw, r), Status: status, Error: msg})
}
