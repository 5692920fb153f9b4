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
	// PersonName, ProposedByName and Electorate name the people, so that those who vote
	// (and those who run the CoP) see who is concerned and who has voted, not bare ids.
	PersonName     string    `json:"person_name"`
	ProposedByName string    `json:"proposed_by_name"`
	Electorate     []Elector `json:"electorate"`
}

// Elector is one working-group member counted when the removal opened, with their vote
// once cast. The subject, when counted, is an elector who may not vote.
type Elector struct {
	PersonID string `json:"person_id"`
	Name     string `json:"name"`
	Voted    bool   `json:"voted"`
	Support  *bool  `json:"support,omitempty"`
}

// names maps people's ids to their names; an erased or unknown person has none.
func names(ctx context.Context, tx Tx, ids ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if _, done := out[id]; done || id == "" {
			continue
		}
		p, err := tx.Person(ctx, id, false)
		if err != nil {
			return nil, err
		}
		if p != nil && !p.Erased {
			out[id] = p.Name
		}
	}
	return out, nil
}

// namedRemovalView is removalView with the people named.
func namedRemovalView(ctx context.Context, tx Tx, r *RemovalRecord) (*RemovalView, error) {
	v := removalView(r)
	n, err := names(ctx, tx, append([]string{r.Subject, r.ProposedBy}, r.Electorate...)...)
	if err != nil {
		return nil, err
	}
	v.PersonName, v.ProposedByName = n[r.Subject], n[r.ProposedBy]
	v.Electorate = make([]Elector, 0, len(r.Electorate))
	for _, id := range r.Electorate {
		e := Elector{PersonID: id, Name: n[id]}
		if support, voted := r.Votes[id]; voted {
			e.Voted, e.Support = true, &support
		}
		v.Electorate = append(v.Electorate, e)
	}
	return v, nil
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
		if out, err = namedRemovalView(ctx, tx, rec); err != nil {
			return nil, err
		}
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
		if out, err = namedRemovalView(ctx, tx, r); err != nil {
			return nil, err
		}
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
		out, err = namedRemovalView(ctx, tx, r)
		return nil, err
	})
}

// RemovalSummary is one removal in a CoP's list.
type RemovalSummary struct {
	ID         string               `json:"id"`
	PersonID   string               `json:"person_id"`
	PersonName string               `json:"person_name"`
	Status     domain.RemovalStatus `json:"status"`
	OpenedAt   time.Time            `json:"opened_at"`
	ClosedAt   *time.Time           `json:"closed_at,omitempty"`
}

// Removals lists a CoP's removals, open ones first, to its working group and those who run
// it: the CoP's page shows where each vote stands and leads to it.
func (a *Application) Removals(ctx context.Context, c httpx.Claims, copID string) ([]RemovalSummary, error) {
	if err := httpx.Authorize(c, c.Signed(), "see removals"); err != nil {
		return nil, err
	}
	out := []RemovalSummary{}
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		wg, err := inWorkingGroup(ctx, tx, c, copID)
		if err != nil {
			return nil, err
		}
		if !wg {
			if _, err := knownCoP(ctx, tx, c, copID, "see the removals of CoP "+copID); err != nil {
				return nil, err
			}
		}
		rs, err := tx.Removals(ctx, copID)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			n, err := names(ctx, tx, r.PersonID)
			if err != nil {
				return nil, err
			}
			r.PersonName = n[r.PersonID]
			out = append(out, r)
		}
		return nil, nil
	})
}
