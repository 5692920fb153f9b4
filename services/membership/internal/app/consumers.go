package app

import (
	"context"

	"github.com/copnet/copnet/pkg/events"
)

// The registry's events that membership consumes. Each runs in the consumer's transaction
// (bus.On puts it in ctx and the repository joins it), so the projection, the events it
// causes and the record of the processed event commit together.

// OnCoPApproved makes a CoP joinable and remembers its region, for hubs' scope checks.
func (a *Application) OnCoPApproved(ctx context.Context, ev events.CoPApproved, _ events.Envelope) error {
	return a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		return nil, tx.ApproveCoP(ctx, ev.CoPID, ev.Region)
	})
}

// OnCharterPublished moves the CoP's Code of Practice to the new version, which members who
// join from now on accept.
func (a *Application) OnCharterPublished(ctx context.Context, ev events.CharterPublished, _ events.Envelope) error {
	return a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		return nil, tx.PublishCodeOfPractice(ctx, ev.CoPID, ev.Region, ev.Version)
	})
}

// OnCoPRetired closes the CoP to members and ends every membership.
func (a *Application) OnCoPRetired(ctx context.Context, ev events.CoPRetired, _ events.Envelope) error {
	return a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		if err := tx.RetireCoP(ctx, ev.CoPID, ev.Region); err != nil {
			return nil, err
		}
		members, err := tx.MembersOfLocked(ctx, ev.CoPID)
		if err != nil {
			return nil, err
		}
		var evs []events.Event
		for _, m := range members {
			left, err := a.leave(ctx, tx, ev.CoPID, m.PersonID, "cop_retired")
			if err != nil {
				return nil, err
			}
			evs = append(evs, left...)
		}
		return evs, nil
	})
}
