// Package ports exposes the feedback service over HTTP: JSON under /v1.
package ports

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/feedback/domain"
	"github.com/copnet/copnet/services/feedback/internal/app"
)

// Route is one HTTP route; the table is also checked against schemas/openapi/feedback.yaml.
type Route = httpx.Route

// HTTP serves the feedback service's routes.
type HTTP struct {
	app   *app.Application
	decks *app.Decks
	// room limits the routes anyone may call without a token (open polls by code), per
	// client address. A room often shares one address, so the burst is a room's worth.
	room *httpx.Limiter
}

// Room rate limit: a burst of 60 answers, then 2 a second, per client address.
const (
	roomBurst = 60
	roomEvery = 500 * time.Millisecond
)

// NewHTTP returns the HTTP port over the application.
func NewHTTP(a *app.Application) *HTTP {
	return &HTTP{app: a, room: httpx.NewLimiter(roomEvery, roomBurst)}
}

// Routes lists every route the feedback service serves.
func (h *HTTP) Routes() []Route {
	return append([]Route{
		{Method: "POST", Path: "/v1/polls", Handle: h.createPoll},
		{Method: "GET", Path: "/v1/polls/{id}", Handle: h.getPoll},
		{Method: "POST", Path: "/v1/polls/{id}/ballots", Handle: h.issueBallot},
		{Method: "POST", Path: "/v1/polls/{id}/responses", Handle: h.respond},
		{Method: "POST", Path: "/v1/polls/{id}/close", Handle: h.closePoll},
		{Method: "GET", Path: "/v1/polls/{id}/results", Handle: h.results},
		{Method: "GET", Path: "/v1/polls/by-code/{code}/question", Handle: h.pollByCode},
		{Method: "POST", Path: "/v1/polls/by-code/{code}/responses", Handle: h.respondByCode},
		{Method: "GET", Path: "/v1/cops/{id}/polls", Handle: h.copPolls},
		{Method: "GET", Path: "/v1/sessions/{id}/evaluation", Handle: h.evaluation},
		{Method: "GET", Path: "/v1/cops/{id}/confidence", Handle: h.confidence},
		{Method: "GET", Path: "/v1/stage-quiz", Handle: h.stageQuiz},
		{Method: "POST", Path: "/v1/cops/{id}/stage-assessments", Handle: h.assessStage},
		{Method: "GET", Path: "/v1/me/polls", Handle: h.myPolls},
		{Method: "POST", Path: "/v1/stage-quiz/score", Handle: h.scoreQuiz},
		{Method: "GET", Path: "/v1/cops/{id}/stage-assessments", Handle: h.stageAssessments},
	}, h.deckRoutes()...)
}

// Register mounts the routes on mux.
func (h *HTTP) Register(mux *http.ServeMux) { httpx.Mount(mux, h.Routes()) }

// PollView is a poll as the API shows it; its secret never leaves the service.
type PollView struct {
	ID           string            `json:"id"`
	Code         string            `json:"code"`
	CoPID        string            `json:"cop_id"`
	SessionID    string            `json:"session_id,omitempty"`
	Kind         string            `json:"kind"`
	Purpose      string            `json:"purpose"`
	Audience     string            `json:"audience"`
	Questions    []domain.Question `json:"questions"`
	MinResponses int               `json:"min_responses"`
	Status       string            `json:"status"`
	OpenedAt     time.Time         `json:"opened_at"`
	ClosesAt     *time.Time        `json:"closes_at,omitempty"`
	ClosedAt     *time.Time        `json:"closed_at,omitempty"`
}

func status(p *domain.Poll, now time.Time) string {
	if p.Closed(now) {
		return "closed"
	}
	return "open"
}

func view(p *domain.Poll, now time.Time) PollView {
	return PollView{
		ID: p.ID, Code: p.Code, CoPID: p.CoPID, SessionID: p.SessionID, Kind: p.Kind, Purpose: p.Purpose,
		Audience: p.Audience, Questions: p.Questions, MinResponses: p.MinResponses,
		Status: status(p, now), OpenedAt: p.OpenedAt, ClosesAt: p.ClosesAt, ClosedAt: p.ClosedAt,
	}
}

// RoomView is what a room sees of an open poll: the questions, nothing about the CoP.
type RoomView struct {
	Code      string            `json:"code"`
	Kind      string            `json:"kind"`
	Questions []domain.Question `json:"questions"`
	Status    string            `json:"status"`
	ClosesAt  *time.Time        `json:"closes_at,omitempty"`
}

// ResultsView is a poll's results as the API shows them.
type ResultsView struct {
	PollID string `json:"poll_id"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	domain.Results
}

func (h *HTTP) onePoll(code int, p *domain.Poll, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return code, view(p, h.app.Now()), nil
}

func (h *HTTP) createPoll(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewPoll
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	p, err := h.app.CreatePoll(ctx, c, in)
	return h.onePoll(http.StatusCreated, p, err)
}

func (h *HTTP) getPoll(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	p, err := h.app.Poll(ctx, c, r.PathValue("id"))
	return h.onePoll(http.StatusOK, p, err)
}

func (h *HTTP) issueBallot(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	b, err := h.app.IssueBallot(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]string{"ballot": b}, nil
}

// recorded is the answer to a response: no id, nothing a client could keep and later
// match to a stored answer.
var recorded = map[string]string{"status": "recorded"}

func (h *HTTP) respond(ctx context.Context, _ httpx.Claims, r *http.Request) (int, any, error) {
	var in struct {
		Ballot string          `json:"ballot"`
		Answer json.RawMessage `json:"answer"`
	}
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	if err := h.app.Respond(ctx, r.PathValue("id"), in.Ballot, in.Answer); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, recorded, nil
}

func (h *HTTP) closePoll(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	p, err := h.app.Close(ctx, c, r.PathValue("id"))
	return h.onePoll(http.StatusOK, p, err)
}

func (h *HTTP) results(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	p, res, err := h.app.Results(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ResultsView{PollID: p.ID, Kind: p.Kind, Status: status(p, h.app.Now()), Results: res}, nil
}

func (h *HTTP) pollByCode(ctx context.Context, _ httpx.Claims, r *http.Request) (int, any, error) {
	// Rate-limited like answering: codes are short, and guessing them is the attack.
	if err := h.room.Allow(httpx.ClientKey(r)); err != nil {
		return 0, nil, err
	}
	p, err := h.app.PollByCode(ctx, r.PathValue("code"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, RoomView{Code: p.Code, Kind: p.Kind, Questions: p.Questions, Status: status(p, h.app.Now()), ClosesAt: p.ClosesAt}, nil
}

func (h *HTTP) respondByCode(ctx context.Context, _ httpx.Claims, r *http.Request) (int, any, error) {
	if err := h.room.Allow(httpx.ClientKey(r)); err != nil {
		return 0, nil, err
	}
	var in struct {
		DeviceToken string          `json:"device_token"`
		Answer      json.RawMessage `json:"answer"`
	}
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	if err := h.app.RespondByCode(ctx, r.PathValue("code"), in.DeviceToken, in.Answer); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, recorded, nil
}

func (h *HTTP) copPolls(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	polls, err := h.app.PollsOf(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	views := make([]PollView, len(polls))
	for i, p := range polls {
		views[i] = view(p, h.app.Now())
	}
	return http.StatusOK, map[string]any{"polls": views}, nil
}

func (h *HTTP) evaluation(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	p, res, err := h.app.SessionEvaluation(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{
		"poll":    view(p, h.app.Now()),
		"results": ResultsView{PollID: p.ID, Kind: p.Kind, Status: status(p, h.app.Now()), Results: res},
	}, nil
}

func (h *HTTP) confidence(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	points, err := h.app.Confidence(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"cop_id": r.PathValue("id"), "sessions": points}, nil
}

func (h *HTTP) stageQuiz(_ context.Context, _ httpx.Claims, _ *http.Request) (int, any, error) {
	return http.StatusOK, map[string]any{"stages": domain.Stages, "questions": h.app.StageQuiz()}, nil
}

func (h *HTTP) assessStage(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in struct {
		Answers map[string]string `json:"answers"`
	}
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	a, err := h.app.AssessStage(ctx, c, r.PathValue("id"), in.Answers)
	return http.StatusCreated, a, err
}
