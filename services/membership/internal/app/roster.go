package app

// What a CoP's roster, directory and online registration need beyond joining and roles:
// a member accepting a new Code of Practice (the version they accepted moves on, the
// membership stays), the CoPs whose current Code of Practice a person has yet to accept,
// the invitations open for a CoP, the directory its members read, and the coordinator's
// switch for online registration.

import (
	"context"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/domain"
)

// RosterTx is what the roster's use cases read and write.
type RosterTx interface {
	// AcceptCodeOfPractice records that a current member accepted version.
	AcceptCodeOfPractice(ctx context.Context, copID, personID string, version int) error
	// MembershipsWithCode lists person's current memberships of approved CoPs with the
	// version of each CoP's Code of Practice in force.
	MembershipsWithCode(ctx context.Context, personID string) ([]MyMembership, error)
	// OpenInvitationsOf lists the invitations open for cop's grants at now, newest first.
	OpenInvitationsOf(ctx context.Context, copID string, now time.Time, limit int) ([]*Invitation, error)
	// Directory lists the names and organisations of cop's current members, by name.
	Directory(ctx context.Context, copID string) ([]DirectoryEntry, error)
	// SetRegistration opens or closes a CoP's online registration.
	SetRegistration(ctx context.Context, copID string, open bool) error
}

// CodeAcceptance is the input of AcceptCodeOfPractice.
type CodeAcceptance struct {
	CodeOfPracticeVersion int `json:"code_of_practice_version"`
}

// AcceptCodeOfPractice records that a member accepts their CoP's current Code of Practice.
// Only the member themselves accepts; accepting the version already accepted changes
// nothing. It causes no event: no other service decides anything on it.
func (a *Application) AcceptCodeOfPractice(ctx context.Context, c httpx.Claims, copID, personID string, in CodeAcceptance) (*MemberView, error) {
	if err := httpx.Authorize(c, c.IsPerson(personID), "accept a Code of Practice for another person"); err != nil {
		return nil, err
	}
	if in.CodeOfPracticeVersion < 1 {
		return nil, apperr.Invalid("code_of_practice_version", "is required: the version of the CoP's Code of Practice you accept (1, 2, ...)")
	}
	var out *MemberView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		m, err := tx.Membership(ctx, copID, personID, true)
		if err != nil {
			return nil, err
		}
		if m == nil || !m.Active {
			return nil, apperr.NotFound("person %s is not a member of CoP %s", personID, copID)
		}
		cop, err := tx.CoP(ctx, copID, false)
		if err != nil {
			return nil, err
		}
		if err := acceptsCurrent(cop, in.CodeOfPracticeVersion); err != nil {
			return nil, err
		}
		if m.CodeOfPracticeVersion != in.CodeOfPracticeVersion {
			if err := tx.AcceptCodeOfPractice(ctx, copID, personID, in.CodeOfPracticeVersion); err != nil {
				return nil, err
			}
			m.CodeOfPracticeVersion = in.CodeOfPracticeVersion
		}
		v := memberView(m)
		out = &v
		return nil, nil
	})
}

// MyMembership is one of the caller's memberships and whether they must accept its CoP's
// current Code of Practice.
type MyMembership struct {
	CoPID                        string        `json:"cop_id"`
	Roles                        []domain.Role `json:"roles"`
	CodeOfPracticeVersion        int           `json:"code_of_practice_version"`
	CurrentCodeOfPracticeVersion int           `json:"current_code_of_practice_version"`
	MustAccept                   bool          `json:"must_accept"`
}

// MyMemberships lists the caller's current memberships, each saying whether a newer Code
// of Practice awaits their acceptance (what /me and the CoP home show).
func (a *Application) MyMemberships(ctx context.Context, c httpx.Claims) ([]MyMembership, error) {
	if err := httpx.Authorize(c, c.Signed(), "see your memberships"); err != nil {
		return nil, err
	}
	out := []MyMembership{}
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		ms, err := tx.MembershipsWithCode(ctx, c.Subject)
		for _, m := range ms {
			m.MustAccept = m.CodeOfPracticeVersion < m.CurrentCodeOfPracticeVersion
			out = append(out, m)
		}
		return nil, err
	})
}

// CoPInvitations lists the invitations open for a CoP's grants (its coordinator, its hub,
// national): who was asked and has not answered yet.
func (a *Application) CoPInvitations(ctx context.Context, c httpx.Claims, copID string) ([]*InvitationView, error) {
	out := []*InvitationView{}
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		if _, err := knownCoP(ctx, tx, c, copID, "see the invitations of CoP "+copID); err != nil {
			return nil, err
		}
		invs, err := tx.OpenInvitationsOf(ctx, copID, a.now(), listLimit)
		for _, inv := range invs {
			out = append(out, a.invitationView(inv, false))
		}
		return nil, err
	})
}

// DirectoryEntry is one member as the CoP's other members see them: a person's name and
// organisation, nothing else (members are individuals, never organisations).
type DirectoryEntry struct {
	Name         string `json:"name"`
	Organisation string `json:"organisation,omitempty"`
}

// Directory lists a CoP's members for its members (and those who run it). Membership is
// read from the data, not the token: a member who just joined sees it at once, and one who
// left does not.
func (a *Application) Directory(ctx context.Context, c httpx.Claims, copID string) ([]DirectoryEntry, error) {
	if err := httpx.Authorize(c, c.Signed(), "see the directory of CoP "+copID); err != nil {
		return nil, err
	}
	out := []DirectoryEntry{}
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		cop, err := tx.CoP(ctx, copID, false)
		if err != nil {
			return nil, err
		}
		member := false
		if m, err := tx.Membership(ctx, copID, c.Subject, false); err != nil {
			return nil, err
		} else if m != nil && m.Active {
			member = true
		}
		if err := httpx.Authorize(c, member || (cop != nil && runsCoP(c, cop)), "see the directory of CoP "+copID+" (it is for its members)"); err != nil {
			return nil, err
		}
		es, err := tx.Directory(ctx, copID)
		out = append(out, es...)
		return nil, err
	})
}

// Registration is whether a CoP takes online registrations, and the Code of Practice
// version a person joining accepts.
type Registration struct {
	CoPID                 string `json:"cop_id"`
	Open                  bool   `json:"open"`
	CodeOfPracticeVersion int    `json:"code_of_practice_version"`
}

// RegistrationOf tells any signed-in person whether a CoP takes online registrations.
func (a *Application) RegistrationOf(ctx context.Context, c httpx.Claims, copID string) (*Registration, error) {
	if err := httpx.Authorize(c, c.Signed(), "see whether a CoP takes registrations"); err != nil {
		return nil, err
	}
	var out *Registration
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		cop, err := tx.CoP(ctx, copID, false)
		if err != nil {
			return nil, err
		}
		if cop == nil {
			return nil, apperr.NotFound("CoP %q is not known here", copID)
		}
		out = &Registration{CoPID: cop.ID, Open: cop.OpenRegistration && cop.Status == "approved", CodeOfPracticeVersion: cop.CodeOfPracticeVersion}
		return nil, nil
	})
}

// SetRegistration opens or closes a CoP's online registration (its coordinator, its hub,
// national).
func (a *Application) SetRegistration(ctx context.Context, c httpx.Claims, copID string, open bool) (*Registration, error) {
	var out *Registration
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		cop, err := knownCoP(ctx, tx, c, copID, "change how people join CoP "+copID)
		if err != nil {
			return nil, err
		}
		if open {
			if err := joinable(copID, cop); err != nil {
				return nil, err
			}
		}
		if err := tx.SetRegistration(ctx, copID, open); err != nil {
			return nil, err
		}
		out = &Registration{CoPID: cop.ID, Open: open, CodeOfPracticeVersion: cop.CodeOfPracticeVersion}
		return nil, nil
	})
}
