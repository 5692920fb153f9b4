package ports

import (
	"context"
	"net/http"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/feedback/domain"
)

// myPolls lists what awaits the signed-in caller: members' polls of their CoPs they have
// not taken a ballot for. Each is a full poll view, so a client can show the questions.
func (h *HTTP) myPolls(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	polls, err := h.app.Awaiting(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	views := make([]PollView, len(polls))
	for i, p := range polls {
		views[i] = view(p, h.app.Now())
	}
	return http.StatusOK, map[string]any{"polls": views}, nil
}

// quizAnswers is the body of scoring or saving the stage quiz.
type quizAnswers struct {
	Answers map[string]string `json:"answers"`
}

// scoreQuiz scores the public stage quiz without storing anything; anyone may call it.
func (h *HTTP) scoreQuiz(_ context.Context, _ httpx.Claims, r *http.Request) (int, any, error) {
	var in quizAnswers
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	a, err := h.app.ScoreQuiz(in.Answers)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}

func (h *HTTP) stageAssessments(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	as, err := h.app.StageAssessments(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"cop_id": r.PathValue("id"), "stages": domain.Stages, "assessments": as}, nil
}
