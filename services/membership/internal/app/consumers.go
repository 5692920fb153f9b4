package app

import (
	"context"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/membership/internal/adapters"
)

// CoPApproved makes a CoP joinable and remembers its region, for hubs' scope checks.
func (a *Application) CoPApproved(ctx context.Context, tx *adapters.Tx, ev events.CoPApproved) error {
	return tx.ApproveCoP(ctx, ev.CoPID, ev.Region)
}

// CharterPublished moves the CoP's Code of Practice to the new version, which members who
// join from now on accept.
func (a *Application) CharterPublished(ctx context.Context, tx *adapters.Tx, ev events.CharterPublished) error {
	return tx.PublishCodeOfPractice(ctx, ev.CoPID, ev.Region, ev.Version)
}

// CoPRetired closes the CoP to members and ends every membership.
func (a *Application) CoPRetired(ctx context.Context, tx *adapters.Tx, ev events.CoPRetired) error {
	if err := tx.RetireCoP(ctx, ev.CoPID, ev.Region); err != nil {
		return err
	}
	members, err := tx.MembersOfLocked(ctx, ev.CoPID)
	if err != nil {
		return err
	}
	for _, m := range members {
		if err := a.leave(ctx, tx, ev.CoPID, m.PersonID, "cop_retired"); err != nil {
			return err
		}
	}
	return nil
}
