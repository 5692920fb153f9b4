package ports

import (
	"context"
	"net/http"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// readingRoutes read requests and one's own expertise (issue 18).
func (h *HTTP) readingRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/v1/requests", Handle: h.listRequests},
		{Method: "GET", Path: "/v1/requests/{id}", Handle: h.getRequest},
		{Method: "GET", Path: "/v1/expertise", Handle: h.myExpertise},
		{Method: "DELETE", Path: "/v1/expertise/{id}", Handle: h.withdrawExpertise},
	}
}

// Page sizes of the requests listing.
const (
	defaultRequestPage = 50
	maxRequestPage     = 200
)

func (h *HTTP) listRequests(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	page, err := httpx.Paging(q, defaultRequestPage, maxRequestPage)
	if err != nil {
		return 0, nil, err
	}
	p, err := h.app.Requests(ctx, c, app.RequestQuery{Filter: q.Get("filter"), Status: q.Get("status"), Page: page})
	return http.StatusOK, p, err
}

func (h *HTTP) getRequest(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	d, err := h.app.Request(ctx, c, r.PathValue("id"))
	return http.StatusOK, d, err
}

func (h *HTTP) myExpertise(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	es, err := h.app.MyExpertise(ctx, c)
	return http.StatusOK, map[string]any{"expertise": es}, err
}

func (h *HTTP) withdrawExpertise(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.app.WithdrawExpertise(ctx, c, r.PathValue("id"))
}
