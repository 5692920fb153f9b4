package ports

import (
	"context"
	"net/http"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/feedback/internal/app"
)

// WithDecks serves the session decks' routes too, from d.
func (h *HTTP) WithDecks(d *app.Decks) *HTTP {
	h.decks = d
	return h
}

// deckRoutes are the session decks' routes: the presenter's (signed in) and the room's
// (public, by code, rate-limited like answering).
func (h *HTTP) deckRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/v1/decks", Handle: h.createDeck},
		{Method: "GET", Path: "/v1/decks/{id}", Handle: h.getDeck},
		{Method: "GET", Path: "/v1/decks/{id}/live", Handle: h.liveDeck},
		{Method: "POST", Path: "/v1/decks/{id}/current", Handle: h.moveDeck},
		{Method: "POST", Path: "/v1/decks/{id}/close", Handle: h.closeDeck},
		{Method: "GET", Path: "/v1/decks/by-code/{code}/current", Handle: h.roomDeck},
		{Method: "GET", Path: "/v1/polls/{id}/live", Handle: h.livePoll},
		{Method: "GET", Path: "/v1/cops/{id}/decks", Handle: h.copDecks},
	}
}

func (h *HTTP) createDeck(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewDeck
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	st, err := h.decks.Create(ctx, c, in)
	return http.StatusCreated, st, err
}

func (h *HTTP) getDeck(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	st, err := h.decks.Get(ctx, c, r.PathValue("id"))
	return http.StatusOK, st, err
}

// after reads the live feeds' ?after=: the version the caller shows now.
func after(r *http.Request) (string, error) {
	v := r.URL.Query().Get("after")
	if len(v) > 64 || !utf8.ValidString(v) {
		return "", apperr.Invalid("after", "must be a version a live feed returned")
	}
	return v, nil
}

func (h *HTTP) liveDeck(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	v, err := after(r)
	if err != nil {
		return 0, nil, err
	}
	st, err := h.decks.Live(ctx, c, r.PathValue("id"), v)
	return http.StatusOK, st, err
}

func (h *HTTP) moveDeck(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in struct {
		Position *int `json:"position"`
	}
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	if in.Position == nil {
		return 0, nil, apperr.Invalid("position", "is required")
	}
	st, err := h.decks.Move(ctx, c, r.PathValue("id"), *in.Position)
	return http.StatusOK, st, err
}

func (h *HTTP) closeDeck(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	st, err := h.decks.Close(ctx, c, r.PathValue("id"))
	return http.StatusOK, st, err
}

func (h *HTTP) roomDeck(ctx context.Context, _ httpx.Claims, r *http.Request) (int, any, error) {
	// Rate-limited per call: codes are short, and guessing them is the attack. A waiting
	// call answers only on a change, so a room following its deck stays far below it.
	if err := h.room.Allow(httpx.ClientKey(r)); err != nil {
		return 0, nil, err
	}
	v, err := after(r)
	if err != nil {
		return 0, nil, err
	}
	st, err := h.decks.Room(ctx, r.PathValue("code"), v)
	return http.StatusOK, st, err
}

func (h *HTTP) livePoll(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	v, err := after(r)
	if err != nil {
		return 0, nil, err
	}
	st, err := h.decks.PollLive(ctx, c, r.PathValue("id"), v)
	return http.StatusOK, st, err
}

func (h *HTTP) copDecks(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	decks, err := h.decks.Of(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"decks": decks}, nil
}
