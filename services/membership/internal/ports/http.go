// Package ports exposes membership over HTTP: JSON under /v1, and CSV for bulk onboarding.
package ports

import (
	"context"
	"mime"
	"net/http"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/domain"
	"github.com/copnet/copnet/services/membership/internal/app"
)

// Route is one HTTP route; the table is also checked against schemas/openapi/membership.yaml.
type Route = httpx.Route

// HTTP serves membership's routes.
type HTTP struct {
	app     *app.Application
	limiter *httpx.Limiter
}

// NewHTTP returns the HTTP port over the application; limiter paces registrations made
// without a token.
func NewHTTP(a *app.Application, limiter *httpx.Limiter) *HTTP {
	return &HTTP{app: a, limiter: limiter}
}

// Routes lists every route membership serves.
func (h *HTTP) Routes() []Route {
	return []Route{
		{Method: "GET", Path: "/v1/me", Handle: h.me},
		{Method: "POST", Path: "/v1/people", Handle: h.register},
		{Method: "GET", Path: "/v1/people/{id}", Handle: h.person},
		{Method: "DELETE", Path: "/v1/people/{id}", Handle: h.erase},
		{Method: "POST", Path: "/v1/cops/{id}/members", Handle: h.join},
		{Method: "GET", Path: "/v1/cops/{id}/members", Handle: h.members},
		{Method: "POST", Path: "/v1/cops/{id}/members:import", Handle: h.importRoster},
		{Method: "DELETE", Path: "/v1/cops/{id}/members/{person_id}", Handle: h.leave},
		{Method: "PUT", Path: "/v1/cops/{id}/members/{person_id}/roles", Handle: h.setRoles},
		{Method: "POST", Path: "/v1/cops/{id}/members/{person_id}/code-of-practice", Handle: h.acceptCodeOfPractice},
		{Method: "GET", Path: "/v1/me/memberships", Handle: h.myMemberships},
		{Method: "GET", Path: "/v1/cops/{id}/invitations", Handle: h.copInvitations},
		{Method: "GET", Path: "/v1/cops/{id}/directory", Handle: h.directory},
		{Method: "GET", Path: "/v1/cops/{id}/registration", Handle: h.registration},
		{Method: "PUT", Path: "/v1/cops/{id}/registration", Handle: h.setRegistration},
		{Method: "POST", Path: "/v1/cops/{id}/coordinator-appointments", Handle: h.proposeCoordinator},
		{Method: "GET", Path: "/v1/cops/{id}/coordinator-appointments", Handle: h.appointments},
		{Method: "GET", Path: "/v1/coordinator-appointments/{id}", Handle: h.appointment},
		{Method: "POST", Path: "/v1/coordinator-appointments/{id}/objections", Handle: h.object},
		{Method: "POST", Path: "/v1/cops/{id}/removals", Handle: h.proposeRemoval},
		{Method: "GET", Path: "/v1/cops/{id}/removals", Handle: h.removals},
		{Method: "GET", Path: "/v1/removals/{id}", Handle: h.removal},
		{Method: "POST", Path: "/v1/removals/{id}/votes", Handle: h.vote},
		{Method: "POST", Path: "/v1/invitations", Handle: h.invite},
		{Method: "GET", Path: "/v1/invitations", Handle: h.invitations},
		{Method: "GET", Path: "/v1/invitations/{id}", Handle: h.invitation},
		{Method: "POST", Path: "/v1/invitations/{id}/accept", Handle: h.acceptInvitation},
		{Method: "POST", Path: "/v1/invitations/{id}/decline", Handle: h.declineInvitation},
		{Method: "POST", Path: "/v1/tokens", Handle: h.createToken},
		{Method: "GET", Path: "/v1/tokens", Handle: h.tokens},
		{Method: "DELETE", Path: "/v1/tokens/{id}", Handle: h.revokeToken},
	}
}

// Register mounts the routes on mux.
func (h *HTTP) Register(mux *http.ServeMux) { httpx.Mount(mux, h.Routes()) }

func (h *HTTP) register(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	if !c.Signed() {
		// Only registrations without a token are paced: national and hubs onboard many
		// people at once and are accountable for it.
		if err := h.limiter.Allow(httpx.ClientKey(r)); err != nil {
			return 0, nil, err
		}
	}
	if err := app.MayRegister(c); err != nil {
		return 0, nil, err
	}
	var in app.NewPerson
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	id, err := h.app.Register(ctx, c, in)
	if !c.Signed() {
		// The same answer whether or not the address was taken: no id, nothing that
		// differs (see app.Register).
		return http.StatusAccepted, map[string]string{"status": "received"}, err
	}
	return http.StatusCreated, map[string]string{"id": id}, err
}

func (h *HTTP) me(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	me, err := h.app.Me(ctx, c)
	return http.StatusOK, me, err
}

func (h *HTTP) person(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	p, err := h.app.Person(ctx, c, r.PathValue("id"))
	return http.StatusOK, p, err
}

func (h *HTTP) erase(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.app.Erase(ctx, c, r.PathValue("id"))
}

func (h *HTTP) join(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewMember
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	m, err := h.app.Join(ctx, c, r.PathValue("id"), in)
	return http.StatusCreated, m, err
}

func (h *HTTP) members(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	ms, err := h.app.Members(ctx, c, r.PathValue("id"))
	return http.StatusOK, map[string]any{"members": ms}, err
}

func (h *HTTP) importRoster(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	if err := httpx.Authorize(c, c.Signed(), "import members"); err != nil {
		return 0, nil, err
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		return 0, nil, apperr.Invalid("Content-Type", "must be text/csv (columns name, email, organisation)")
	}
	res, err := h.app.Import(ctx, c, r.PathValue("id"), r.Body)
	return http.StatusOK, res, err
}

func (h *HTTP) leave(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.app.Leave(ctx, c, r.PathValue("id"), r.PathValue("person_id"))
}

func (h *HTTP) setRoles(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in struct {
		Roles []domain.Role `json:"roles"`
	}
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	m, err := h.app.SetRoles(ctx, c, r.PathValue("id"), r.PathValue("person_id"), in.Roles)
	return http.StatusOK, m, err
}

func (h *HTTP) proposeCoordinator(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in struct {
		PersonID string `json:"person_id"`
	}
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	ap, err := h.app.ProposeCoordinator(ctx, c, r.PathValue("id"), in.PersonID)
	return http.StatusCreated, ap, err
}

func (h *HTTP) appointment(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	ap, err := h.app.Appointment(ctx, c, r.PathValue("id"))
	return http.StatusOK, ap, err
}

func (h *HTTP) object(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Objection
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	ap, err := h.app.Object(ctx, c, r.PathValue("id"), in)
	return http.StatusOK, ap, err
}

func (h *HTTP) proposeRemoval(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewRemoval
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	rm, err := h.app.ProposeRemoval(ctx, c, r.PathValue("id"), in)
	return http.StatusCreated, rm, err
}

func (h *HTTP) removals(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	rs, err := h.app.Removals(ctx, c, r.PathValue("id"))
	return http.StatusOK, map[string]any{"removals": rs}, err
}

func (h *HTTP) appointments(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	aps, err := h.app.Appointments(ctx, c, r.PathValue("id"))
	return http.StatusOK, map[string]any{"appointments": aps}, err
}

func (h *HTTP) removal(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	rm, err := h.app.Removal(ctx, c, r.PathValue("id"))
	return http.StatusOK, rm, err
}

func (h *HTTP) vote(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Ballot
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	rm, err := h.app.Vote(ctx, c, r.PathValue("id"), in)
	return http.StatusOK, rm, err
}
