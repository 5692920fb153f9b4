package ports

import (
	"context"
	"net/http"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/internal/app"
)

func (h *HTTP) createToken(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewToken
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	t, err := h.app.CreateToken(ctx, c, in)
	return http.StatusCreated, t, err
}

func (h *HTTP) tokens(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	ts, err := h.app.Tokens(ctx, c)
	return http.StatusOK, map[string]any{"tokens": ts}, err
}

func (h *HTTP) revokeToken(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.app.RevokeToken(ctx, c, r.PathValue("id"))
}
