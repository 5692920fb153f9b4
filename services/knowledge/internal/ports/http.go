// Package ports exposes the knowledge service over HTTP: JSON under /v1.
package ports

import (
	"context"
	"net/http"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/knowledge/domain"
	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// Route is one HTTP route; the table is also checked against schemas/openapi/knowledge.yaml.
type Route = httpx.Route

// HTTP serves the knowledge service's routes.
type HTTP struct {
	app *app.Application
}

// NewHTTP returns the HTTP port over the application.
func NewHTTP(a *app.Application) *HTTP { return &HTTP{app: a} }

// Routes lists every route the knowledge service serves.
func (h *HTTP) Routes() []Route {
	return append([]Route{
		{Method: "GET", Path: "/v1/topics", Handle: h.listTopics},
		{Method: "POST", Path: "/v1/topics", Handle: h.addTopic},
		{Method: "POST", Path: "/v1/projects", Handle: h.mapProject},
		{Method: "GET", Path: "/v1/projects", Handle: h.listProjects},
		{Method: "GET", Path: "/v1/overlaps", Handle: h.listOverlaps},
		{Method: "PUT", Path: "/v1/overlaps/{id}", Handle: h.resolveOverlap},
		{Method: "POST", Path: "/v1/expertise", Handle: h.declareExpertise},
		{Method: "POST", Path: "/v1/requests", Handle: h.raiseRequest},
		{Method: "POST", Path: "/v1/requests/{id}/answers", Handle: h.answerRequest},
		{Method: "POST", Path: "/v1/requests/{id}/close", Handle: h.closeRequest},
		{Method: "POST", Path: "/v1/assets", Handle: h.shareAsset},
		{Method: "GET", Path: "/v1/assets", Handle: h.listAssets},
		{Method: "GET", Path: "/v1/gaps", Handle: h.listGaps},
		{Method: "GET", Path: "/v1/overlaps/{id}", Handle: h.overlap},
		{Method: "POST", Path: "/v1/assets/files", Handle: h.uploadAsset},
		{Method: "GET", Path: "/v1/assets/{id}/file", Handle: h.downloadAsset},
	}, h.readingRoutes()...)
}

// Register mounts the routes on mux.
func (h *HTTP) Register(mux *http.ServeMux) { httpx.Mount(mux, h.Routes()) }

func (h *HTTP) listTopics(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	topics, err := h.app.Topics(ctx, c)
	return http.StatusOK, map[string]any{"topics": topics}, err
}

func (h *HTTP) addTopic(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewTopic
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	t, err := h.app.AddTopic(ctx, c, in)
	return http.StatusCreated, t, err
}

// ProjectView is a project as the API shows it.
type ProjectView struct {
	ID           string             `json:"id"`
	CoPID        string             `json:"cop_id"`
	Region       string             `json:"region"`
	Title        string             `json:"title"`
	Organisation string             `json:"organisation"`
	Topics       []string           `json:"topics"`
	Communities  []domain.Community `json:"communities"`
	StartsOn     string             `json:"starts_on"`
	EndsOn       string             `json:"ends_on"`
	Methods      []string           `json:"methods"`
	Origin       string             `json:"origin"`
	CreatedAt    time.Time          `json:"created_at"`
	MappedBy     string             `json:"mapped_by,omitempty"`
	Contact      string             `json:"contact"`
}

func view(p *app.Project) ProjectView {
	return ProjectView{
		ID: p.ID, CoPID: p.CoPID, Region: p.Region, Title: p.Title, Organisation: p.Organisation,
		Topics: p.Topics, Communities: p.Communities, StartsOn: p.StartsOn.Format(time.DateOnly),
		EndsOn: p.EndsOn.Format(time.DateOnly), Methods: p.Methods, Origin: p.Origin, CreatedAt: p.CreatedAt,
		MappedBy: p.MappedBy, Contact: p.Contact,
	}
}

func (h *HTTP) mapProject(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewProject
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	p, err := h.app.MapProject(ctx, c, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, view(p), nil
}

// maxProjectsPage is GET /v1/projects' page size, by default and at most: a client that
// sends no limit gets the 500 rows it always got, now with the cursor of the rest.
const maxProjectsPage = 500

func (h *HTTP) listProjects(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	page, err := httpx.Paging(q, maxProjectsPage, maxProjectsPage)
	if err != nil {
		return 0, nil, err
	}
	ps, next, err := h.app.Projects(ctx, c, app.ProjectQuery{CoP: q.Get("cop"), Region: q.Get("region"), Topic: q.Get("topic"),
		Limit: page.Limit, Cursor: page.Cursor})
	if err != nil {
		return 0, nil, err
	}
	views := make([]ProjectView, len(ps))
	for i, p := range ps {
		views[i] = view(p)
	}
	return http.StatusOK, map[string]any{"projects": views, "next_cursor": next}, nil
}

func (h *HTTP) listOverlaps(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	os, err := h.app.Overlaps(ctx, c, app.OverlapQuery{Region: q.Get("region"), CoP: q.Get("cop"), Kind: q.Get("kind"), Status: q.Get("status")})
	return http.StatusOK, map[string]any{"overlaps": os}, err
}

func (h *HTTP) resolveOverlap(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Resolution
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	o, err := h.app.ResolveOverlap(ctx, c, r.PathValue("id"), in)
	return http.StatusOK, o, err
}

func (h *HTTP) declareExpertise(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewExpertise
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	e, err := h.app.DeclareExpertise(ctx, c, in)
	return http.StatusCreated, e, err
}

func (h *HTTP) raiseRequest(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewRequest
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	q, err := h.app.RaiseRequest(ctx, c, in)
	return http.StatusCreated, q, err
}

func (h *HTTP) answerRequest(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewAnswer
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	a, err := h.app.AnswerRequest(ctx, c, r.PathValue("id"), in)
	return http.StatusCreated, a, err
}

func (h *HTTP) closeRequest(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	if err := h.app.CloseRequest(ctx, c, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "status": "closed"}, nil
}

func (h *HTTP) shareAsset(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewAsset
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	a, err := h.app.ShareAsset(ctx, c, in)
	return http.StatusCreated, a, err
}

func (h *HTTP) listAssets(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	as, err := h.app.Assets(ctx, c, app.AssetQuery{Topic: q.Get("topic"), Region: q.Get("region"), CoP: q.Get("cop")})
	return http.StatusOK, map[string]any{"assets": as}, err
}

func (h *HTTP) listGaps(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	gs, err := h.app.Gaps(ctx, c, r.URL.Query().Get("region"))
	return http.StatusOK, map[string]any{"gaps": gs}, err
}
