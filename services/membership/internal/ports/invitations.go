package ports

// Invitations over HTTP: the JSON routes (in the route table, documented in
// membership.yaml), and the browser's side: the mailed link that signs the invitee in, and
// the console page's accept and decline forms, which answer with a redirect back to that page.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/internal/app"
)

func (h *HTTP) invite(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewInvitation
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	inv, err := h.app.Invite(ctx, c, in)
	return http.StatusCreated, inv, err
}

func (h *HTTP) invitations(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	l, err := h.app.Invitations(ctx, c)
	return http.StatusOK, l, err
}

func (h *HTTP) invitation(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	inv, err := h.app.Invitation(ctx, c, r.PathValue("id"))
	return http.StatusOK, inv, err
}

// acceptInvitation takes {"code_of_practice_version"} for a CoP membership; for any other
// grant the body may be empty.
func (h *HTTP) acceptInvitation(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Acceptance
	if err := httpx.Authorize(c, c.Signed(), "accept invitations"); err != nil {
		return 0, nil, err
	}
	if r.ContentLength != 0 {
		if err := httpx.DecodeJSON(r, &in); err != nil {
			return 0, nil, err
		}
	}
	inv, err := h.app.AcceptInvitation(ctx, c, r.PathValue("id"), in)
	return http.StatusOK, inv, err
}

func (h *HTTP) declineInvitation(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	inv, err := h.app.DeclineInvitation(ctx, c, r.PathValue("id"))
	return http.StatusOK, inv, err
}

// InvitationFlows are the browser's routes of invitations.
type InvitationFlows struct {
	auth *Auth
	app  *app.Application
}

// NewInvitationFlows returns the browser's invitation routes; they sign in and answer as
// auth's flows do.
func NewInvitationFlows(auth *Auth, a *app.Application) *InvitationFlows {
	return &InvitationFlows{auth: auth, app: a}
}

// Register mounts the flows on mux.
func (f *InvitationFlows) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+app.InvitationPath, f.follow)
	mux.HandleFunc("POST /auth/invitations/{id}/accept", f.accept)
	mux.HandleFunc("POST /auth/invitations/{id}/decline", f.decline)
}

// invitationPage is the console page where an invitee decides.
func invitationPage(id string) string { return "/invitations/" + url.PathEscape(id) }

// follow opens a mailed invitation link: it signs the invitee in and shows them the
// invitation (303). A link used before, of an invitation still open, sends them to sign in
// another way and come back to it.
func (f *InvitationFlows) follow(rw http.ResponseWriter, r *http.Request) {
	s, id, err := f.auth.id.FollowInvitation(r.Context(), app.Secret(r.URL.Query().Get("t")))
	switch {
	case errors.Is(err, app.ErrLinkUnusable):
		back(rw, r, "/signin", url.Values{"error": {"link"}})
	case errors.Is(err, app.ErrInvitationLinkUsed):
		back(rw, r, "/signin", url.Values{"error": {"link"}, "next": {invitationPage(id)}})
	case err != nil:
		f.auth.failed(rw, r, "follow invitation link", err)
	default:
		f.auth.signIn(rw, r, s, invitationPage(id))
	}
}

// acceptForm is what the invitation page's accept form sends besides its CSRF token.
type acceptForm struct {
	// Version is the Code of Practice version the page showed (0 when it showed none).
	Version int
	// Consent is the "I accept the Code of Practice" box, ticked.
	Consent bool
}

// maxVersion bounds a Code of Practice version read from a form.
const maxVersion = 1_000_000

// parseAcceptForm reads the accept form's fields.
func parseAcceptForm(v url.Values) (acceptForm, error) {
	var f acceptForm
	if s := v.Get("code_of_practice_version"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxVersion {
			return acceptForm{}, apperr.Invalid("code_of_practice_version", fmt.Sprintf("must be a whole number from 1 to %d", maxVersion))
		}
		f.Version = n
	}
	switch v.Get("accept_code_of_practice") {
	case "":
	case "yes":
		f.Consent = true
	default:
		return acceptForm{}, apperr.Invalid("accept_code_of_practice", `must be "yes" when ticked`)
	}
	return f, nil
}

// decision checks a form post of the invitation page and returns its caller, or answers
// the request itself (false): a bad CSRF token, or a browser whose access token ran out,
// which gets a fresh one and comes back to the page.
func (f *InvitationFlows) decision(rw http.ResponseWriter, r *http.Request) (httpx.Claims, bool) {
	if err := httpx.CheckCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return httpx.Claims{}, false
	}
	_, c, ok := httpx.CookieClaims(r, f.auth.verifier)
	if !ok {
		back(rw, r, "/auth/refresh", url.Values{"next": {invitationPage(r.PathValue("id"))}})
		return httpx.Claims{}, false
	}
	return c, true
}

// decided sends the browser back to the invitation page, saying what went wrong if
// something did; a refusal of ours it cannot word is a problem answer.
func (f *InvitationFlows) decided(rw http.ResponseWriter, r *http.Request, id string, err error, code string) {
	var ae *apperr.Error
	switch {
	case err == nil:
		back(rw, r, invitationPage(id), nil)
	case errors.As(err, &ae) && (ae.Kind == apperr.KindConflict || ae.Kind == apperr.KindForbidden || ae.Kind == apperr.KindUnprocessable):
		if code == "" {
			code = map[apperr.Kind]string{apperr.KindConflict: "closed", apperr.KindForbidden: "not-yours", apperr.KindUnprocessable: "version"}[ae.Kind]
		}
		back(rw, r, invitationPage(id), url.Values{"error": {code}})
	case errors.As(err, &ae):
		httpx.WriteProblem(rw, r, err)
	default:
		f.auth.failed(rw, r, "invitation decision", err)
	}
}

// accept answers the page's accept form: the grant is given, the browser's access token is
// renewed to carry it, and the page shows the invitation accepted.
func (f *InvitationFlows) accept(rw http.ResponseWriter, r *http.Request) {
	c, ok := f.decision(rw, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	form, err := parseAcceptForm(r.PostForm)
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	if form.Version != 0 && !form.Consent {
		// The page asked to accept the Code of Practice, and the box was not ticked.
		back(rw, r, invitationPage(id), url.Values{"error": {"consent"}})
		return
	}
	_, err = f.app.AcceptInvitation(r.Context(), c, id, app.Acceptance{CodeOfPracticeVersion: form.Version})
	if err != nil {
		f.decided(rw, r, id, err, "")
		return
	}
	tok, err := f.auth.id.AccessToken(r.Context(), c.Subject)
	if err != nil {
		f.auth.failed(rw, r, "access token", err)
		return
	}
	httpx.SetCookie(rw, r, httpx.AccessCookie, tok, time.Now().Add(access.TokenTTL))
	f.decided(rw, r, id, nil, "")
}

// decline answers the page's decline form.
func (f *InvitationFlows) decline(rw http.ResponseWriter, r *http.Request) {
	c, ok := f.decision(rw, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	_, err := f.app.DeclineInvitation(r.Context(), c, id)
	f.decided(rw, r, id, err, "")
}
