// Package domain holds membership's rules: who may vote on a removal and when it carries,
// the coordinator's consent window, role changes, and what a bulk roster must contain.
package domain

import (
	"errors"
	"fmt"
	"slices"
)

// RemovalStatus is where a removal proposal stands.
type RemovalStatus string

// A removal is open until it carries or can no longer carry.
const (
	RemovalOpen     RemovalStatus = "open"
	RemovalCarried  RemovalStatus = "carried"
	RemovalRejected RemovalStatus = "rejected"
)

// ErrNotElector is a vote from someone who may not vote on the removal: not in the working
// group when it opened, or the member the removal is about. It becomes a 403.
var ErrNotElector = errors.New("not an elector of this removal")

// ErrClosed is a step on a proposal or appointment that is already decided; it becomes a 409.
var ErrClosed = errors.New("already decided")

// VotesNeeded is 75% of the working group, rounded up: the seeds' "75% majority of working
// group members" counts members, not votes cast, so abstaining counts against removal.
func VotesNeeded(workingGroupSize int) int {
	return (3*workingGroupSize + 3) / 4
}

// Removal is a proposal to remove a member, decided by the working group as it stood when
// the proposal opened (its electorate), so that changing the group mid-vote cannot move
// the threshold.
type Removal struct {
	ID         string
	CoPID      string
	Subject    string
	ProposedBy string
	Reason     string
	// Electorate is the working group's members when the removal opened, the subject
	// included if they were in it: they count towards the 75% but may not vote.
	Electorate []string
	Votes      map[string]bool // voter → support
	Status     RemovalStatus
}

// OpenRemoval starts a removal of subject proposed by proposer, who must be in workingGroup.
func OpenRemoval(id, copID, subject, proposer, reason string, workingGroup []string) (*Removal, error) {
	if !slices.Contains(workingGroup, proposer) {
		return nil, fmt.Errorf("%w: only a working-group member may propose a removal", ErrNotElector)
	}
	if subject == proposer {
		return nil, fmt.Errorf("%w: a member cannot propose their own removal", ErrNotElector)
	}
	r := &Removal{
		ID: id, CoPID: copID, Subject: subject, ProposedBy: proposer, Reason: reason,
		Electorate: slices.Clone(workingGroup), Votes: map[string]bool{}, Status: RemovalOpen,
	}
	r.settle() // a group where nobody but the subject may vote can never carry it
	return r, nil
}

// WorkingGroupSize is the size of the group the threshold is a share of.
func (r *Removal) WorkingGroupSize() int { return len(r.Electorate) }

// VotesNeeded is the number of supporting votes that carries this removal.
func (r *Removal) VotesNeeded() int { return VotesNeeded(len(r.Electorate)) }

// Supporting counts votes for removal.
func (r *Removal) Supporting() int {
	n := 0
	for _, support := range r.Votes {
		if support {
			n++
		}
	}
	return n
}

// Vote records voter's answer once and decides the removal as soon as the outcome is
// certain. It reports whether this vote decided it.
func (r *Removal) Vote(voter string, support bool) (decided bool, err error) {
	if r.Status != RemovalOpen {
		return false, fmt.Errorf("%w: removal %s is %s", ErrClosed, r.ID, r.Status)
	}
	if voter == r.Subject || !slices.Contains(r.Electorate, voter) {
		return false, fmt.Errorf("%w: only working-group members counted when removal %s opened may vote, never its subject", ErrNotElector, r.ID)
	}
	if _, voted := r.Votes[voter]; voted {
		return false, fmt.Errorf("%w: %s has already voted on removal %s", ErrClosed, voter, r.ID)
	}
	r.Votes[voter] = support
	return r.settle(), nil
}

// settle carries the removal once support reaches the threshold, and rejects it once the
// electors still to vote could not bring support there.
func (r *Removal) settle() bool {
	yet := 0
	for _, e := range r.Electorate {
		if _, voted := r.Votes[e]; !voted && e != r.Subject {
			yet++
		}
	}
	switch {
	case r.Supporting() >= r.VotesNeeded() && r.VotesNeeded() > 0:
		r.Status = RemovalCarried
	case r.Supporting()+yet < r.VotesNeeded() || r.VotesNeeded() == 0:
		r.Status = RemovalRejected
	default:
		return false
	}
	return true
}
