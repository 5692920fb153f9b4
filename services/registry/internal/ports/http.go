// Package ports exposes the registry over HTTP: JSON under /v1.
package ports

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/registry/domain"
	"github.com/copnet/copnet/services/registry/internal/app"
)

// Route is one HTTP route; the table is also checked against schemas/openapi/registry.yaml.
type Route = httpx.Route

// HTTP serves the registry's routes.
type HTTP struct {
	app *app.Application
}

// NewHTTP returns the HTTP port over the application.
func NewHTTP(a *app.Application) *HTTP { return &HTTP{app: a} }

// Routes lists every route the registry serves.
func (h *HTTP) Routes() []Route {
	return []Route{
		{Method: "POST", Path: "/v1/regions", Handle: h.createRegion},
		{Method: "GET", Path: "/v1/regions", Handle: h.listRegions},
		{Method: "POST", Path: "/v1/cops", Handle: h.proposeCoP},
		{Method: "GET", Path: "/v1/cops", Handle: h.listCoPs},
		{Method: "GET", Path: "/v1/cops/{id}", Handle: h.getCoP},
		{Method: "POST", Path: "/v1/cops/{id}/decision", Handle: h.decide},
		{Method: "PUT", Path: "/v1/cops/{id}/charter", Handle: h.publishCharter},
		{Method: "GET", Path: "/v1/cops/{id}/charter", Handle: h.getCharter},
		{Method: "GET", Path: "/v1/cops/{id}/charter/versions", Handle: h.charterVersions},
		{Method: "PUT", Path: "/v1/cops/{id}/stage", Handle: h.changeStage},
		{Method: "POST", Path: "/v1/cops/{id}/retire", Handle: h.retire},
		{Method: "POST", Path: "/v1/applications", Handle: h.apply},
		{Method: "GET", Path: "/v1/applications", Handle: h.myApplications},
		{Method: "PUT", Path: "/v1/applications/{id}", Handle: h.resubmit},
	}
}

// Register mounts the routes on mux.
func (h *HTTP) Register(mux *http.ServeMux) { httpx.Mount(mux, h.Routes()) }

// CoPView is a CoP as the API shows it.
type CoPView struct {
	ID                string         `json:"id"`
	Name              string         `json:"name"`
	Region            string         `json:"region"`
	Scope             string         `json:"scope"`
	Purpose           string         `json:"purpose"`
	Topics            []string       `json:"topics"`
	HostOrganisations []string       `json:"host_organisations"`
	Meeting           domain.Meeting `json:"meeting"`
	Status            domain.Status  `json:"status"`
	Stage             domain.Stage   `json:"stage"`
	DecisionReason    string         `json:"decision_reason,omitempty"`
	RetiredReason     string         `json:"retired_reason,omitempty"`
	CharterVersion    int            `json:"charter_version"`
	// ApplicantID and Contact are shown only to those who see the whole proposal (its
	// hub, national, its coordinator and the applicant).
	ApplicantID      string          `json:"applicant_id,omitempty"`
	Contact          *domain.Contact `json:"contact,omitempty"`
	Round            int             `json:"round"`
	ChangesRequested string          `json:"changes_requested,omitempty"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
}

func view(c *domain.CoP) CoPView {
	var contact *domain.Contact
	if c.Contact != (domain.Contact{}) {
		contact = &c.Contact
	}
	return CoPView{
		ApplicantID: c.ApplicantID, Contact: contact, Round: c.Round, ChangesRequested: c.ChangesRequested,
		ID: c.ID, Name: c.Name, Region: c.Region, Scope: c.Scope, Purpose: c.Purpose,
		Topics: c.Topics, HostOrganisations: c.HostOrganisations, Meeting: c.Meeting,
		Status: c.Status, Stage: c.Stage, DecisionReason: c.DecisionReason,
		RetiredReason: c.RetiredReason, CharterVersion: c.CharterVersion,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func one(status int, c *domain.CoP, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return status, view(c), nil
}

func (h *HTTP) createRegion(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewRegion
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	reg, err := h.app.CreateRegion(ctx, c, in)
	return http.StatusCreated, reg, err
}

func (h *HTTP) listRegions(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	regs, err := h.app.Regions(ctx, c)
	return http.StatusOK, map[string]any{"regions": regs}, err
}

func (h *HTTP) proposeCoP(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewCoP
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	cop, err := h.app.ProposeCoP(ctx, c, in)
	return one(http.StatusCreated, cop, err)
}

// Page sizes of GET /v1/cops, as schemas/openapi/registry.yaml documents them.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

func (h *HTTP) listCoPs(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	page, err := httpx.Paging(q, defaultPageSize, maxPageSize)
	if err != nil {
		return 0, nil, err
	}
	cops, next, err := h.app.ListCoPs(ctx, c, app.ListQuery{
		Region: q.Get("region"), Status: q.Get("status"), Stage: q.Get("stage"),
		Topic: q.Get("topic"), Cursor: page.Cursor, Limit: page.Limit,
	})
	if err != nil {
		return 0, nil, err
	}
	views := make([]CoPView, len(cops))
	for i, cop := range cops {
		views[i] = view(cop)
	}
	return http.StatusOK, map[string]any{"cops": views, "next_cursor": next}, nil
}

func (h *HTTP) getCoP(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	cop, err := h.app.CoP(ctx, c, r.PathValue("id"))
	return one(http.StatusOK, cop, err)
}

func (h *HTTP) decide(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Decision
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	cop, err := h.app.Decide(ctx, c, r.PathValue("id"), in)
	return one(http.StatusOK, cop, err)
}

func (h *HTTP) publishCharter(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.CharterInput
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	ch, err := h.app.PublishCharter(ctx, c, r.PathValue("id"), in)
	return http.StatusOK, ch, err
}

func (h *HTTP) getCharter(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	version := 0
	if s := r.URL.Query().Get("version"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, nil, apperr.Invalid("version", "must be a charter version number (1, 2, ...)")
		}
		version = n
	}
	ch, err := h.app.Charter(ctx, c, r.PathValue("id"), version)
	return http.StatusOK, ch, err
}

func (h *HTTP) charterVersions(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	chs, err := h.app.Charters(ctx, c, r.PathValue("id"))
	return http.StatusOK, map[string]any{"versions": chs}, err
}

func (h *HTTP) changeStage(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in struct {
		Stage string `json:"stage"`
	}
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	cop, err := h.app.ChangeStage(ctx, c, r.PathValue("id"), in.Stage)
	return one(http.StatusOK, cop, err)
}

func (h *HTTP) retire(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	cop, err := h.app.Retire(ctx, c, r.PathValue("id"), in.Reason)
	return one(http.StatusOK, cop, err)
}

func (h *HTTP) apply(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.ApplicationInput
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	cop, err := h.app.Apply(ctx, c, in)
	return one(http.StatusCreated, cop, err)
}

func (h *HTTP) myApplications(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	cops, err := h.app.MyApplications(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	views := make([]CoPView, len(cops))
	for i, cop := range cops {
		views[i] = view(cop)
	}
	return http.StatusOK, map[string]any{"applications": views}, nil
}

func (h *HTTP) resubmit(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.ApplicationInput
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	cop, err := h.app.Resubmit(ctx, c, r.PathValue("id"), in)
	return one(http.StatusOK, cop, err)
}
