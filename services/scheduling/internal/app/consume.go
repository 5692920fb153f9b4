package app

// The events scheduling consumes, one method each. The consumer's transaction travels in
// ctx (bus.On), so the repository's writes, the outbox rows they cause and the record of
// the processed event commit together: a redelivered event changes nothing twice.

import (
	"context"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/scheduling/domain"
)

// OnCoPProposed learns a CoP's name, for calendars and event titles.
func (a *Application) OnCoPProposed(ctx context.Context, ev events.CoPProposed, _ events.Envelope) error {
	return a.repo.NameCoP(ctx, ev.CoPID, ev.Name)
}

// OnCoPApproved starts serving a CoP. A retirement that arrived first wins.
func (a *Application) OnCoPApproved(ctx context.Context, ev events.CoPApproved, _ events.Envelope) error {
	return a.repo.ApproveCoP(ctx, ev.CoPID, ev.Region)
}

// OnCoPRetired stops a CoP and cancels its upcoming sessions, with session_cancelled for
// each so that calendars and feedback learn of it.
func (a *Application) OnCoPRetired(ctx context.Context, ev events.CoPRetired, _ events.Envelope) error {
	if err := a.repo.RetireCoP(ctx, ev.CoPID, ev.Region); err != nil {
		return err
	}
	return a.repo.InCoP(ctx, ev.CoPID, func(ctx context.Context, _ domain.CoP) ([]events.Event, error) {
		upcoming, err := a.repo.ScheduledAfter(ctx, ev.CoPID, a.now())
		if err != nil {
			return nil, err
		}
		var evs []events.Event
		for _, s := range upcoming {
			cancelled, err := s.Cancel("the CoP was retired")
			if err != nil {
				return nil, err
			}
			if err := a.repo.SaveSession(ctx, s); err != nil {
				return nil, err
			}
			evs = append(evs, cancelled)
		}
		return evs, nil
	})
}

// OnMemberJoined records a membership as of the event's time and lets the member into
// the rotation.
func (a *Application) OnMemberJoined(ctx context.Context, ev events.MemberJoined, env events.Envelope) error {
	return a.setMember(ctx, ev.CoPID, ev.PersonID, true, env.Time)
}

// OnMemberLeft ends a membership as of the event's time and hands the person's upcoming
// turns to others.
func (a *Application) OnMemberLeft(ctx context.Context, ev events.MemberLeft, env events.Envelope) error {
	return a.setMember(ctx, ev.CoPID, ev.PersonID, false, env.Time)
}

// OnRemovalCarried ends a membership as a member's leaving does.
func (a *Application) OnRemovalCarried(ctx context.Context, ev events.RemovalCarried, env events.Envelope) error {
	return a.setMember(ctx, ev.CoPID, ev.PersonID, false, env.Time)
}

// setMember applies a membership change, then rebalances the CoP's upcoming turns. Nothing
// is written for an erased person: a join or leave delivered after person_erased would
// otherwise bring their id back.
func (a *Application) setMember(ctx context.Context, cop, person string, current bool, at time.Time) error {
	if gone, err := a.repo.Erased(ctx, person); err != nil || gone {
		return err
	}
	if err := a.repo.SetMembership(ctx, cop, person, current, at); err != nil {
		return err
	}
	return a.rebalance(ctx, cop, person)
}

// OnPersonErased scrubs a person and reassigns their upcoming turns.
func (a *Application) OnPersonErased(ctx context.Context, ev events.PersonErased, _ events.Envelope) error {
	cops, err := a.repo.Erase(ctx, ev.PersonID, a.now())
	if err != nil {
		return err
	}
	for _, cop := range cops {
		if err := a.rebalance(ctx, cop, ev.PersonID); err != nil {
			return err
		}
	}
	return nil
}
