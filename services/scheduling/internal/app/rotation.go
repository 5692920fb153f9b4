package app

// The use cases several commands and events share: dealing the rotating roles and judging
// participation. Each runs inside its caller's InCoP or InSession (the CoP's lock is held),
// and returns the events it causes for the repository to write with the change.

import (
	"context"
	"slices"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/scheduling/domain"
)

// rotate recomputes the CoP's upcoming turns (domain.Rotate), stores the roles that
// changed and returns roles_assigned for every such session.
func (a *Application) rotate(ctx context.Context, cop string) ([]events.Event, error) {
	now := a.now()
	all, err := a.repo.UncancelledSessions(ctx, cop)
	if err != nil {
		return nil, err
	}
	var past, upcoming []domain.Roster
	var next []*domain.Session
	for _, s := range all {
		ros := domain.Roster{Facilitator: s.Facilitator, NoteTaker: s.NoteTaker, Hosted: len(s.HostGroup) > 0}
		if s.Upcoming(now) {
			upcoming = append(upcoming, ros)
			next = append(next, s)
		} else {
			past = append(past, ros)
		}
	}
	if len(next) == 0 {
		return nil, nil
	}
	willing, err := a.repo.Willing(ctx, cop)
	if err != nil {
		return nil, err
	}
	var evs []events.Event
	for i, ros := range domain.Rotate(past, upcoming, willing) {
		s := next[i]
		if ros.Facilitator == s.Facilitator && ros.NoteTaker == s.NoteTaker {
			continue
		}
		s.Facilitator, s.NoteTaker = ros.Facilitator, ros.NoteTaker
		if err := a.repo.SetRoles(ctx, s); err != nil {
			return nil, err
		}
		evs = append(evs, rolesAssigned(s))
	}
	return evs, nil
}

func rolesAssigned(s *domain.Session) events.RolesAssigned {
	ev := events.RolesAssigned{SessionID: s.ID, CoPID: s.CoPID, Facilitator: s.Facilitator, NoteTaker: s.NoteTaker}
	if len(s.HostGroup) > 0 {
		ev.HostGroup = s.HostGroup
	}
	return ev
}

// rebalance drops a former member from the host groups of upcoming sessions and recomputes
// the CoP's turns. A CoP scheduling has not heard of yet has no sessions to rebalance.
func (a *Application) rebalance(ctx context.Context, cop, person string) error {
	known, err := a.repo.KnowsCoP(ctx, cop)
	if err != nil || !known {
		return err
	}
	return a.repo.InCoP(ctx, cop, func(ctx context.Context, _ domain.CoP) ([]events.Event, error) {
		member, err := a.repo.IsMember(ctx, cop, person)
		if err != nil {
			return nil, err
		}
		var evs []events.Event
		if !member {
			if evs, err = a.dropFromHostGroups(ctx, cop, person); err != nil {
				return nil, err
			}
		}
		roles, err := a.rotate(ctx, cop)
		return append(evs, roles...), err
	})
}

func (a *Application) dropFromHostGroups(ctx context.Context, cop, person string) ([]events.Event, error) {
	upcoming, err := a.repo.ScheduledAfter(ctx, cop, a.now())
	if err != nil {
		return nil, err
	}
	var evs []events.Event
	for _, s := range upcoming {
		if !slices.Contains(s.HostGroup, person) {
			continue
		}
		s.HostGroup = removeAll(s.HostGroup, person)
		if err := a.repo.SetHostGroup(ctx, s.ID, s.HostGroup); err != nil {
			return nil, err
		}
		// A group that still hosts announces its new line-up; an emptied one goes back to
		// the rotation, whose roles_assigned follows from rotate.
		if len(s.HostGroup) > 0 {
			evs = append(evs, rolesAssigned(s))
		}
	}
	return evs, nil
}

func removeAll(xs []string, x string) []string {
	out := []string{}
	for _, v := range xs {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// trend judges held sessions' attendance by the configured decline rule.
func (a *Application) trend(held []domain.HeldTurnout) domain.Trend {
	var rates []float64
	for _, h := range held {
		rates = append(rates, h.Rate())
	}
	return a.decline.Assess(rates)
}

// assessParticipation returns participation_declining when the CoP's attendance starts to
// decline; the flag it keeps makes a continuing decline one event, not one per session.
func (a *Application) assessParticipation(ctx context.Context, cop string) ([]events.Event, error) {
	held, err := a.repo.HeldTurnouts(ctx, cop)
	if err != nil {
		return nil, err
	}
	trend := a.trend(held)
	was, err := a.repo.SetDeclining(ctx, cop, trend.Declining)
	if err != nil || !trend.Declining || was {
		return nil, err
	}
	return []events.Event{events.ParticipationDeclining{CoPID: cop, EarlyRate: trend.EarlyRate,
		RecentRate: trend.RecentRate, Drop: trend.Drop}}, nil
}
