package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/domain"
)

// RemovalView is a removal proposal and its audit trail.
type RemovalView struct {
	ID               string               `json:"id"`
	CoPID            string               `json:"cop_id"`
	PersonID         string               `json:"person_id"`
	ProposedBy       string               `json:"proposed_by"`
	Reason           string               `json:"reason"`
	Status           domain.RemovalStatus `json:"status"`
	WorkingGroupSize int                  `json:"working_group_size"`
	VotesNeeded      int                  `json:"votes_needed"`
	SupportingVotes  int                  `json:"supporting_votes"`
	OpenedAt         time.Time            `json:"opened_at"`
	ClosedAt         *time.Time           `json:"closed_at,omitempty"`
	Votes            []RecordedBallot     `json:"votes"`
}

func removalView(r *RemovalRecord) *RemovalView {
	return &RemovalView{ID: r.ID, CoPID: r.CoPID, PersonID: r.Subject, ProposedBy: r.ProposedBy, Reason: r.Reason,
		Status: r.Status, WorkingGroupSize: r.WorkingGroupSize(), VotesNeeded: r.VotesNeeded(),
		SupportingVotes: r.Supporting(), OpenedAt: r.OpenedAt, ClosedAt: r.ClosedAt, Votes: r.Ballots}
}

// NewRemoval is the input of ProposeRemoval.
type NewRemoval struct {
	PersonID string `json:"person_id"`
	Reason   string `json:"reason"`
}

// ProposeRemoval opens a vote on removing a member; only a working-group member of the
// CoP may propose, and the working group as it stands now is the electorate.
func (a *Application) ProposeRemoval(ctx context.Context, c httpx.Claims, copID string, in NewRemoval) (*RemovalView, error) {
	if err := httpx.Authorize(c, c.Subject != "", "propose a removal"); err != nil {
		return nil, err
	}
	var v apperr.Validator
	v.Check(in.PersonID != "", "person_id", "is required")
	v.Check(strings.TrimSpace(in.Reason) != "" && len(in.Reason) <= 2000, "reason", "is required (at most 2000 characters)")
	var out *RemovalView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		wg, err := tx.WorkingGroup(ctx, copID)
		if err != nil {
			return nil, err
		}
		if err := httpx.Authorize(c, slices.Contains(wg, c.Subject), "propose a removal: only working-group members of the CoP may"); err != nil {
			return nil, err
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		cop, err := tx.CoP(ctx, copID, false)
		if err != nil {
			return nil, err
		}
		if err := joinable(copID, cop); err != nil {
			return nil, err
		}
		m, err := tx.Membership(ctx, copID, in.PersonID, false)
		if err != nil {
			return nil, err
		}
		if m == nil || !m.Active {
			return nil, apperr.Unprocessable("person_id", "must be a member of CoP "+copID)
		}
		r, err := domain.OpenRemoval(newID(), copID, in.PersonID, c.Subject, strings.TrimSpace(in.Reason), wg)
		if err != nil {
			return nil, apperr.Unprocessable("person_id", err.Error())
		}
		now := a.now()
		if err := tx.AddRemoval(ctx, r, now); err != nil {
			return nil, err
		}
		rec := &RemovalRecord{Removal: r, OpenedAt: now, Ballots: []RecordedBallot{}}
		if r.Status != domain.RemovalOpen {
			rec.ClosedAt = &now
		}
		out = removalView(rec)
		evs := []events.Event{events.RemovalProposed{RemovalID: r.ID, CoPID: copID, PersonID: r.Subject,
			WorkingGroupSize: r.WorkingGroupSize(), VotesNeeded: r.VotesNeeded()}}
		evs = append(evs, a.decided(rec)...)
		return evs, nil
	})
}

// decided is what a removal's decision publishes.
func (a *Application) decided(r *RemovalRecord) []events.Event {
	switch r.Status {
	case domain.RemovalCarried:
		return []events.Event{events.RemovalCarried{RemovalID: r.ID, CoPID: r.CoPID, PersonID: r.Subject,
			SupportingVotes: r.Supporting(), WorkingGroupSize: r.WorkingGroupSize()}}
	case domain.RemovalRejected:
		return []events.Event{events.RemovalRejected{RemovalID: r.ID, CoPID: r.CoPID, PersonID: r.Subject,
			SupportingVotes: r.Supporting(), WorkingGroupSize: r.WorkingGroupSize()}}
	}
	return nil
}

// Ballot is the input of Vote.
type Ballot struct {
	VoterID string `json:"voter_id"`
	Support *bool  `json:"support"`
}

// Vote records a working-group member's vote, once, and carries or rejects the removal as
// soon as the outcome is certain. A carried removal ends the membership.
func (a *Application) Vote(ctx context.Context, c httpx.Claims, id string, in Ballot) (*RemovalView, error) {
	if err := httpx.Authorize(c, in.VoterID == "" || c.IsPerson(in.VoterID), "vote for another person"); err != nil {
		return nil, err
	}
	var v apperr.Validator
	v.Check(in.VoterID != "", "voter_id", "is required")
	v.Check(in.Support != nil, "support", "is required (true to remove, false to keep)")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *RemovalView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		r, err := tx.Removal(ctx, id)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, apperr.NotFound("removal %q does not exist", id)
		}
		if _, err := r.Vote(in.VoterID, *in.Support); err != nil {
			return nil, domainError(err)
		}
		if err := tx.AddVote(ctx, r, in.VoterID, *in.Support, a.now()); err != nil {
			return nil, err
		}
		out = removalView(r)
		evs := a.decided(r)
		if r.Status != domain.RemovalCarried {
			return evs, nil
		}
		m, err := tx.Membership(ctx, r.CoPID, r.Subject, true)
		if err != nil || m == nil || !m.Active {
			return evs, err // the member already left
		}
		left, err := a.leave(ctx, tx, r.CoPID, r.Subject, "removed")
		if err != nil {
			return nil, err
		}
		return append(evs, left...), nil
	})
}

// Removal shows a removal and every vote on it to the electorate and those who run the CoP.
func (a *Application) Removal(ctx context.Context, c httpx.Claims, id string) (*RemovalView, error) {
	if err := httpx.Authorize(c, c.Signed(), "see removals"); err != nil {
		return nil, err
	}
	var out *RemovalView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		r, err := tx.Removal(ctx, id)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, apperr.NotFound("removal %q does not exist", id)
		}
		cop, err := tx.CoP(ctx, r.CoPID, false)
		if err != nil {
			return nil, err
		}
		elector := c.Subject != "" && slices.Contains(r.Electorate, c.Subject)
		if err := httpx.Authorize(c, elector || runsCoP(c, cop), "see this removal"); err != nil {
			return nil, err
		}
		out = removalView(r)
		return nil, nil
	})
}
