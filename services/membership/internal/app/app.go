// Package app is everything membership's ports may ask of it: commands that change state
// and queries that read it, each checking who may do it.
package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/domain"
)

// Application is membership's use cases.
type Application struct {
	repo          Repository
	clock         func() time.Time
	consentWindow time.Duration
	// identity is set when this process issues tokens (EnableIdentity).
	identity *Identity
}

// New returns the application over repo; clock gives the time of consent windows and
// terms, and consentWindow how long working-group members have to object.
func New(repo Repository, clock func() time.Time, consentWindow time.Duration) *Application {
	if consentWindow <= 0 {
		consentWindow = domain.DefaultConsentWindow
	}
	return &Application{repo: repo, clock: clock, consentWindow: consentWindow}
}

// now is the injected clock in UTC, truncated to what PostgreSQL stores, so that a value
// read back equals the one written.
func (a *Application) now() time.Time { return a.clock().UTC().Truncate(time.Microsecond) }

func newID() string { return strings.ToLower(events.NewID()) }

// NewPerson is the input of Register.
type NewPerson struct {
	Name         string `json:"name"`
	Email        string `json:"email"`
	Organisation string `json:"organisation"`
}

// Register records a person: national, a hub, or anyone registering themselves without a
// token (the port rate-limits those). Other roles are people already registered.
//
// A caller without a token learns nothing about who else is registered: an address already
// in use is not an error for them (nothing is stored, and "" is returned either way, so the
// port answers both alike). National and hubs, who are accountable for onboarding, are told
// about the conflict.
func (a *Application) Register(ctx context.Context, c httpx.Claims, in NewPerson) (string, error) {
	if err := MayRegister(c); err != nil {
		return "", err
	}
	if !c.Signed() && a.identity != nil && !a.identity.set.SelfRegistration {
		return "", apperr.Forbidden("this node registers people by invitation only")
	}
	p := domain.Person(in).Normalise()
	if problems := p.Problems(""); len(problems) > 0 {
		return "", apperr.InvalidFields(problems...)
	}
	id := newID()
	err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		if err := tx.AddPerson(ctx, id, p, a.now()); err != nil {
			return nil, err
		}
		return []events.Event{events.PersonRegistered{PersonID: id}}, nil
	})
	if !c.Signed() {
		var e *apperr.Error
		if errors.As(err, &e) && e.Kind == apperr.KindConflict {
			err = nil
		}
		return "", err
	}
	return id, err
}

// MayRegister refuses the roles that may not register people, before their input is read.
func MayRegister(c httpx.Claims) error {
	if c.Signed() && !c.IsNational() && !c.Holds(httpx.RoleHub) {
		return apperr.Forbidden("your grants do not let you register people; national, a hub, or the person without a token may")
	}
	return nil
}

// PersonView is a person as the API shows them to themselves or national.
type PersonView struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Organisation string    `json:"organisation,omitempty"`
	RegisteredAt time.Time `json:"registered_at"`
}

// Person shows a person to themselves or national; an erased person is gone (404).
func (a *Application) Person(ctx context.Context, c httpx.Claims, id string) (*PersonView, error) {
	if err := httpx.Authorize(c, c.IsNational() || c.IsPerson(id), "see this person"); err != nil {
		return nil, err
	}
	var out *PersonView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		p, err := tx.Person(ctx, id, false)
		if err != nil {
			return nil, err
		}
		if p == nil || p.Erased {
			return nil, apperr.NotFound("person %q does not exist", id)
		}
		out = &PersonView{ID: p.ID, Name: p.Name, Email: p.Email, Organisation: p.Organisation, RegisteredAt: p.RegisteredAt}
		return nil, nil
	})
}

// Erase forgets a person (themselves or national): name, e-mail and organisation go, every
// membership ends, and person_erased tells every other service to scrub the id. Erasing
// again changes nothing.
func (a *Application) Erase(ctx context.Context, c httpx.Claims, id string) error {
	if err := httpx.Authorize(c, c.IsNational() || c.IsPerson(id), "erase this person"); err != nil {
		return err
	}
	return a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		p, err := tx.Person(ctx, id, true)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, apperr.NotFound("person %q does not exist", id)
		}
		if p.Erased {
			return nil, nil
		}
		ms, err := tx.MembershipsOf(ctx, id)
		if err != nil {
			return nil, err
		}
		var evs []events.Event
		for _, m := range ms {
			left, err := a.leave(ctx, tx, m.CoPID, id, "erased")
			if err != nil {
				return nil, err
			}
			evs = append(evs, left...)
		}
		if err := tx.ErasePerson(ctx, id, a.now()); err != nil {
			return nil, err
		}
		return append(evs, events.PersonErased{PersonID: id}), nil
	})
}

// leave ends a membership, and its roles with it: role_revoked for each role the member
// held (so their grants are withdrawn and their tokens revoked), then member_left.
func (a *Application) leave(ctx context.Context, tx Tx, copID, personID, reason string) ([]events.Event, error) {
	cop, err := tx.CoP(ctx, copID, false)
	if err != nil {
		return nil, err
	}
	m, err := tx.Membership(ctx, copID, personID, true)
	if err != nil {
		return nil, err
	}
	var evs []events.Event
	if m != nil && m.Active {
		for _, r := range m.Roles {
			evs = append(evs, events.RoleRevoked{CoPID: copID, PersonID: personID, Role: string(r)})
		}
	}
	if err := tx.Leave(ctx, copID, personID, reason, a.now()); err != nil {
		return nil, err
	}
	return append(evs, events.MemberLeft{CoPID: copID, Region: cop.Region, PersonID: personID, Reason: reason}), nil
}

// domainError turns the domain's refusals into the errors the API reports.
func domainError(err error) error {
	switch {
	case errors.Is(err, domain.ErrNotElector):
		return apperr.Forbidden("%s", err.Error())
	case errors.Is(err, domain.ErrClosed):
		return apperr.Conflict("%s", err.Error())
	}
	return err
}
