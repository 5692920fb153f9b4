package ports

import (
	"context"
	"net/http"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/internal/app"
)

func (h *HTTP) acceptCodeOfPractice(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.CodeAcceptance
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	m, err := h.app.AcceptCodeOfPractice(ctx, c, r.PathValue("id"), r.PathValue("person_id"), in)
	return http.StatusOK, m, err
}

func (h *HTTP) myMemberships(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	ms, err := h.app.MyMemberships(ctx, c)
	return http.StatusOK, map[string]any{"memberships": ms}, err
}

func (h *HTTP) copInvitations(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	invs, err := h.app.CoPInvitations(ctx, c, r.PathValue("id"))
	return http.StatusOK, map[string]any{"invitations": invs}, err
}

func (h *HTTP) directory(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	es, err := h.app.Directory(ctx, c, r.PathValue("id"))
	return http.StatusOK, map[string]any{"members": es}, err
}

func (h *HTTP) registration(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	reg, err := h.app.RegistrationOf(ctx, c, r.PathValue("id"))
	return http.StatusOK, reg, err
}

func (h *HTTP) setRegistration(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in struct {
		Open bool `json:"open"`
	}
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	reg, err := h.app.SetRegistration(ctx, c, r.PathValue("id"), in.Open)
	return http.StatusOK, reg, err
}
