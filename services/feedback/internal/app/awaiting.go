package app

import (
	"context"
	"slices"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/feedback/domain"
)

// Awaiting lists the members' polls the caller may still answer: open polls, evaluations
// and check-ins of the CoPs they belong to, for which they have not taken a ballot yet,
// oldest first. Whether a ballot was taken is read from ballots_issued by recomputing the
// caller's own issuance hash for each candidate poll: nothing is stored for this, and
// nothing about any answer (not even whether the ballot was cast) is looked at.
func (a *Application) Awaiting(ctx context.Context, c httpx.Claims) ([]*domain.Poll, error) {
	if err := httpx.Authorize(c, c.Signed(), "see the polls awaiting you"); err != nil {
		return nil, err
	}
	polls, err := a.repo.OpenMembersPolls(ctx, c.Subject, a.now())
	if err != nil {
		return nil, err
	}
	if len(polls) == 0 {
		return polls, nil
	}
	ids, hashes := make([]string, len(polls)), make([][]byte, len(polls))
	for i, p := range polls {
		ids[i], hashes[i] = p.ID, a.keys.IssueHash(p.ID, c.Subject)
	}
	taken, err := a.repo.BallotsIssued(ctx, ids, hashes)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(polls, func(p *domain.Poll) bool { return slices.Contains(taken, p.ID) }), nil
}

// StageAssessments lists a CoP's stored stage assessments, oldest first, to those who may
// see its feedback.
func (a *Application) StageAssessments(ctx context.Context, c httpx.Claims, cop string) ([]StageAssessment, error) {
	if err := a.authorize(ctx, c, cop, false, "see this CoP's stage assessments"); err != nil {
		return nil, err
	}
	return a.repo.Assessments(ctx, cop)
}

// ScoreQuiz scores the stage quiz for anyone, signed in or not: a group just getting
// started has no CoP to save the result to, and nothing is stored.
func (a *Application) ScoreQuiz(answers map[string]string) (domain.Assessment, error) {
	return domain.Assess(answers)
}
