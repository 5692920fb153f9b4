// Package ports serves the console: HTML pages for people, and the read API under
// /v1/network for reports and tools. Both show the same figures from the same projection.
package ports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console/internal/projection"
)

// Web serves the pages and the read API.
type Web struct {
	store    *projection.Store
	verifier httpx.Verifier
	apiURL   string
	client   *http.Client
	log      *slog.Logger
	pages    *pages
	// signIn is what the sign-in page offers.
	signIn SignIn
	// publicURL is the node's base URL, for the join link and QR code a presenter shows.
	publicURL string
	// rooms are the live sessions' rooms the console follows.
	rooms rooms
	// mux is the server's route table, to tell whether the registry runs on this server.
	mux *http.ServeMux
}

// NewWeb returns the console's HTTP port. apiURL is the registry's base URL; empty means
// the server the request came in on.
func NewWeb(store *projection.Store, v httpx.Verifier, apiURL string, signIn SignIn, log *slog.Logger) *Web {
	if log == nil {
		log = slog.Default()
	}
	return &Web{store: store, verifier: v, apiURL: strings.TrimRight(apiURL, "/"),
		client: &http.Client{Timeout: 15 * time.Second}, log: log, pages: mustParsePages(), signIn: signIn}
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
	return append([]Route{
		{"GET", "/{$}", w.nationalPage},
		{"GET", "/regions/{id}", w.regionPage},
		{"GET", "/cops/{id}", w.copPage},
		{"POST", "/cops/{id}/decision", w.decide},
		{"GET", "/apply", w.applyPage},
		{"POST", "/apply", w.submitApplication},
		{"GET", "/applications", w.applicationsPage},
		{"GET", "/applications/{id}", w.applicationPage},
		{"POST", "/applications/{id}", w.resubmitApplication},
		{"GET", "/signin", w.signinPage},
		{"GET", "/setup", w.setupPage},
		{"GET", "/account", w.accountPage},
		{"GET", "/invitations/{id}", w.invitationPage},
		{"GET", "/notifications", w.notificationsPage},
		{"POST", "/notifications", w.saveNotifications},
		{"GET", "/static/{file}", w.static},
		{"GET", "/me", w.mePage},
		{"GET", "/me/polls/{id}", w.answerPage},
		{"POST", "/me/polls/{id}", w.answer},
		{"GET", "/sessions/{id}/evaluate", w.evaluateSession},
		{"GET", "/quiz", w.quizPage},
		{"POST", "/quiz", w.scoreQuiz},
		{"POST", "/quiz/save", w.saveQuiz},
		{"GET", "/cops/{id}/results.csv", w.resultsCSV},
	}, slices.Concat(w.liveRoutes(), w.requestsRoutes(), w.mappingRoutes(), w.reportsRoutes(),
		w.charterRoutes(), w.rosterRoutes(), w.programRoutes(), w.homeRoutes())...)
}

// Register mounts every route.
func (w *Web) Register(mux *http.ServeMux) {
	w.mux = mux
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
// browser (its access cookie, verified here); ok is false for anonymous callers.
func (w *Web) whoIs(r *http.Request) (caller, bool) {
	if c, ok := httpx.ClaimsFrom(r.Context()); ok {
		_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		return caller{claims: c, token: strings.TrimSpace(tok)}, true
	}
	tok, c, ok := httpx.CookieClaims(r, w.verifier)
	if !ok {
		return caller{}, false
	}
	return caller{claims: c, token: tok}, true
}

// formCaller returns the signed-in caller of a form post after checking its CSRF token,
// or answers the problem: 403 without the token, 401 with why (e.g. "sign in to answer")
// when signed out.
func (w *Web) formCaller(rw http.ResponseWriter, r *http.Request, what string) (caller, bool) {
	if err := httpx.CheckCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return caller{}, false
	}
	c, ok := w.whoIs(r)
	if !ok {
		httpx.WriteProblem(rw, r, apperr.Unauthenticated(what))
	}
	return c, ok
}

// pageCaller returns the signed-in caller of a page, or sends the browser to sign in.
func (w *Web) pageCaller(rw http.ResponseWriter, r *http.Request) (caller, bool) {
	c, ok := w.whoIs(r)
	if !ok {
		// A browser whose access token ran out but whose session lives gets a fresh token
		// from membership and comes straight back; anyone else signs in first.
		q := url.Values{"next": {r.URL.RequestURI()}}.Encode()
		if ck, err := r.Cookie(httpx.SessionCookie); err == nil && ck.Value != "" {
			http.Redirect(rw, r, "/auth/refresh?"+q, http.StatusSeeOther)
		} else {
			http.Redirect(rw, r, "/signin?"+q, http.StatusSeeOther)
		}
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
	case len(c.claims.Grants) == 0:
		// Someone with no part in the network yet is usually a group's applicant coming
		// back: their applications are their page here.
		http.Redirect(rw, r, "/applications", http.StatusSeeOther)
		return
	default:
		// A member's console is their own page: what awaits them.
		http.Redirect(rw, r, "/me", http.StatusSeeOther)
		return
	}
	n, err := w.store.Network(r.Context())
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	w.pages.render(rw, r, http.StatusOK, "national", pageData{Title: "National network", Caller: c.claims,
		CSRF: httpx.CSRFToken(rw, r), Network: n})
}

func (w *Web) regionPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderRegion(rw, r, c, r.PathValue("id"), http.StatusOK, "", "")
}

// decisionNotice tells the hub what its decision did. The registry confirmed it before the
// browser was sent here; the CoP's name is the console's own (never taken from the link),
// and the health table follows once the registry's event comes back.
func decisionNotice(r *http.Request, d *projection.RegionDetail, queues ...[]proposal) string {
	q := r.URL.Query()
	sent, id := q.Get("sent"), q.Get("cop")
	done := map[string]string{"approval": "approved", "decline": "declined", "changes": "asked the applicant for changes to"}[sent]
	if done == "" || id == "" {
		return ""
	}
	name := ""
	for _, p := range slices.Concat(queues...) {
		if p.ID == id {
			name = p.Name
		}
	}
	for _, p := range d.Queue {
		if p.ID == id && name == "" {
			name = p.Name
		}
	}
	for _, h := range d.Health {
		if h.ID == id && name == "" {
			name = h.Name
		}
	}
	if name == "" {
		return fmt.Sprintf("The registry recorded your %s.", sent)
	}
	if sent == "changes" {
		return fmt.Sprintf("You asked the applicant for changes to %s. It waits for them below, and comes back to your queue when they resubmit.", name)
	}
	return fmt.Sprintf("You %s %s. The health table shows it as soon as the registry's event arrives.", done, name)
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
	if errors.Is(err, projection.ErrNotFound) && c.claims.IsHubOf(id) && notice == "" && problem == "" {
		// A newly appointed hub officer's region may have no events yet: their page, empty,
		// says so instead of a 404 that reads as if something were broken.
		d, err = &projection.RegionDetail{RegionFigures: projection.RegionFigures{ID: id, Name: id,
			CoPsByStatus: map[string]int{}, CoPsByStage: map[string]int{}}}, nil
		notice = "Nothing has happened in region " + id + " yet: CoPs proposed here will wait for your decision on this page."
	}
	if errors.Is(err, projection.ErrNotFound) {
		err = apperr.NotFound("the console has no events about region %q yet", id)
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	// The queue shows the whole proposals, contact included, which only the registry holds.
	waiting, withApplicant, queueError := w.regionQueue(r, c, d)
	if notice == "" {
		notice = decisionNotice(r, d, waiting, withApplicant)
	}
	w.pages.render(rw, r, status, "region", pageData{Title: "Region " + d.Name, Caller: c.claims, CSRF: httpx.CSRFToken(rw, r),
		Region: d, Notice: notice, Error: problem, Proposals: waiting, AwaitingChanges: withApplicant, QueueError: queueError})
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
	runs, err := w.copHomeAccess(r, c, id)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d, err := w.store.CoP(r.Context(), id)
	if errors.Is(err, projection.ErrNotFound) {
		err = apperr.NotFound("the console has no events about CoP %q yet", id)
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	w.pages.render(rw, r, http.StatusOK, "cop", copPageData{
		pageData: pageData{Title: d.Name, Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), CoP: d, Notice: copNotices[r.URL.Query().Get("notice")]},
		Results:  w.copResults(r, c, d), Home: w.loadCoPHome(r, c, d, runs)})
}

// copAccess says whether c runs CoP id (its results, exports): national, its coordinator,
// its region's hub (its members see its home too: copHomeAccess). An unknown CoP is forbidden rather than missing for a hub, so that a hub cannot
// learn which ids exist elsewhere.
func (w *Web) copAccess(r *http.Request, c caller, id string) error {
	if c.claims.IsNational() || c.claims.IsCoordinatorOf(id) {
		return nil
	}
	region, err := w.store.RegionOf(r.Context(), id)
	if err != nil && !errors.Is(err, projection.ErrNotFound) {
		return err
	}
	return httpx.Authorize(c.claims, err == nil && c.claims.IsHubOf(region), "see CoP "+id)
}

// decide forwards a hub's (or national's) approve or decline to the registry with the
// person's own token: the registry decides whether they may, the console only carries
// the request. The decision shows on the page once the registry's event comes back.
func (w *Web) decide(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to decide on a proposal")
	if !ok {
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
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/cops/"+url.PathEscape(id)+"/decision", body, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward decision to the registry", "cop", id, "error", err)
		w.renderRegion(rw, r, c, region, http.StatusBadGateway, "", "The registry could not be reached; nothing was decided. Try again in a moment.")
		return
	}
	if status >= 300 {
		w.renderRegion(rw, r, c, region, status, "", "The registry refused: "+detail)
		return
	}
	verb := map[string]string{"approve": "approval", "decline": "decline", "request_changes": "changes"}[decision]
	http.Redirect(rw, r, "/regions/"+url.PathEscape(region)+"?sent="+url.QueryEscape(verb)+"&cop="+url.QueryEscape(id), http.StatusSeeOther)
}

// callAPI sends a request to the services' API (COPNET_CONSOLE_API_URL, else the server
// this request came in on) with the person's own token: body, when given, as JSON; a 2xx
// answer is decoded into dst when given; otherwise the status and the problem's detail (with
// its field errors) are returned.
func (w *Web) callAPI(r *http.Request, token, method, path string, body []byte, dst any) (int, string, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	return w.callAPIWith(ctx, w.client, r, token, method, path, body, dst)
}

// apiBase is where the services' API is: COPNET_CONSOLE_API_URL, else the server this
// request came in on.
func (w *Web) apiBase(r *http.Request) (string, error) {
	if w.apiURL != "" {
		return w.apiURL, nil
	}
	// The all-in-one serves every service on this same server: call the address this
	// request came in on, never one taken from the Host header.
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return "", errors.New("no local address to reach the services; set COPNET_CONSOLE_API_URL")
	}
	return "http://" + addr.String(), nil
}

// callAPIWith is callAPI within ctx and with client, for calls that wait longer (the live
// feeds' long polls). An empty token calls as nobody (the room's public routes).
func (w *Web) callAPIWith(ctx context.Context, client *http.Client, r *http.Request, token, method, path string, body []byte, dst any) (int, string, error) {
	base, err := w.apiBase(r)
	if err != nil {
		return 0, "", err
	}
	return w.send(ctx, client, base, httpx.CorrelationID(r.Context()), httpx.ClientKey(r), token, method, path, body, dst)
}

// callBase reads path from the services' API at base as nobody, outside any request (the
// rooms' feeds).
func (w *Web) callBase(ctx context.Context, base, path string, dst any) (int, string, error) {
	return w.send(ctx, liveClient, base, "", "", "", http.MethodGet, path, nil, dst)
}

// send calls the services' API. clientAddr is the address of the person the call is made for:
// the services' per-address limits (a room's answers, sign-in) then count each phone of a
// room on its own instead of the console as one client (httpx.ClientKey believes it from
// the console, a trusted proxy).
func (w *Web) send(ctx context.Context, client *http.Client, base, correlation, clientAddr, token, method, path string, body []byte, dst any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// No token for the calls that must not carry one: answering with a ballot (which names
	// nobody), the public quiz and the room's public routes.
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if correlation != "" {
		req.Header.Set(httpx.CorrelationHeader, correlation)
	}
	if clientAddr != "" {
		req.Header.Set(httpx.ForwardedFor, clientAddr)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return 0, "", err
	}
	if res.StatusCode < 300 {
		if dst != nil {
			if err := json.Unmarshal(raw, dst); err != nil {
				return 0, "", fmt.Errorf("decode %s: %w", path, err)
			}
		}
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

// maxAnswer bounds what the console reads of another service's answer.
const maxAnswer = 1 << 20

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
		CSRF: httpx.CSRFToken(rw, r), Status: status, Error: msg})
}
