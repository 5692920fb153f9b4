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
type Route struct {
	Method, Path string
	handle       func(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error)
}

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
		{"POST", "/v1/people", h.register},
		{"GET", "/v1/people/{id}", h.person},
		{"DELETE", "/v1/people/{id}", h.erase},
		{"POST", "/v1/cops/{id}/members", h.join},
		{"GET", "/v1/cops/{id}/members", h.members},
		{"POST", "/v1/cops/{id}/members:import", h.importRoster},
		{"DELETE", "/v1/cops/{id}/members/{person_id}", h.leave},
		{"PUT", "/v1/cops/{id}/members/{person_id}/roles", h.setRoles},
		{"POST", "/v1/cops/{id}/coordinator-appointments", h.proposeCoordinator},
		{"GET", "/v1/coordinator-appointments/{id}", h.appointment},
		{"POST", "/v1/coordinator-appointments/{id}/objections", h.object},
		{"POST", "/v1/cops/{id}/removals", h.proposeRemoval},
		{"GET", "/v1/removals/{id}", h.removal},
		{"POST", "/v1/removals/{id}/votes", h.vote},
	}
}

// Register mounts the routes on mux.
func (h *HTTP) Register(mux *http.ServeMux) {
	for _, rt := range h.Routes() {
		mux.HandleFunc(rt.Method+" "+rt.Path, serve(rt.handle))
	}
}

func serve(fn func(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, _ := httpx.ClaimsFrom(r.Context())
		status, body, err := fn(r.Context(), c, r)
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		httpx.WriteJSON(w, status, body)
	}
}

// decode reads a JSON body once the caller is known: an anonymous caller learns nothing
// about the body's shape before signing in.
func decode(c httpx.Claims, r *http.Request, dst any) error {
	if err := httpx.Authorize(c, c.Role != "", "call this route"); err != nil {
		return err
	}
	return httpx.DecodeJSON(r, dst)
}

func (h *HTTP) register(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	if c.Role == "" {
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
	return http.StatusCreated, map[string]string{"id": id}, err
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
	if err := decode(c, r, &in); err != nil {
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
	if err := httpx.Authorize(c, c.Role != "", "import members"); err != nil {
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
	if err := decode(c, r, &in); err != nil {
		return 0, nil, err
	}
	m, err := h.app.SetRoles(ctx, c, r.PathValue("id"), r.PathValue("person_id"), in.Roles)
	return http.StatusOK, m, err
}

func (h *HTTP) proposeCoordinator(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in struct {
		PersonID string `json:"person_id"`
	}
	if err := decode(c, r, &in); err != nil {
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
	if err := decode(c, r, &in); err != nil {
		return 0, nil, err
	}
	ap, err := h.app.Object(ctx, c, r.PathValue("id"), in)
	return http.StatusOK, ap, err
}

func (h *HTTP) proposeRemoval(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewRemoval
	if err := decode(c, r, &in); err != nil {
		return 0, nil, err
	}
	rm, err := h.app.ProposeRemoval(ctx, c, r.PathValue("id"), in)
	return http.StatusCreated, rm, err
}

func (h *HTTP) removal(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	rm, err := h.app.Removal(ctx, c, r.PathValue("id"))
	return http.StatusOK, rm, err
}

func (h *HTTP) vote(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Ballot
	if err := decode(c, r, &in); err != nil {
		return 0, nil, err
	}
	rm, err := h.app.Vote(ctx, c, r.PathValue("id"), in)
	return http.StatusOK, rm, err
}
