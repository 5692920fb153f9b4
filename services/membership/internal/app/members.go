package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/domain"
)

// runsCoP reports whether c runs the CoP: national, the hub of its region, its coordinator.
func runsCoP(c httpx.Claims, cop *CoP) bool {
	return c.IsNational() || c.IsHubOf(cop.Region) || c.IsCoordinatorOf(cop.ID)
}

// knownCoP loads a CoP and refuses callers who do not run it. A hub asking about a CoP
// membership has not heard of cannot be told apart from one asking about another region's.
func knownCoP(ctx context.Context, tx Tx, c httpx.Claims, id, what string) (*CoP, error) {
	cop, err := tx.CoP(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if cop == nil {
		if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub) || c.IsCoordinatorOf(id), what); err != nil {
			return nil, err
		}
		return nil, apperr.NotFound("CoP %q is not known here", id)
	}
	return cop, httpx.Authorize(c, runsCoP(c, cop), what)
}

// joinable refuses CoPs the registry has not approved (or that retired since).
func joinable(id string, cop *CoP) error {
	if cop == nil || cop.Status != "approved" {
		return apperr.Conflict("CoP %q is not approved for members (the registry's approval has not reached membership, or the CoP retired)", id)
	}
	return nil
}

// NewMember is the input of Join.
type NewMember struct {
	PersonID              string `json:"person_id"`
	CodeOfPracticeVersion int    `json:"code_of_practice_version"`
}

// MemberView is a member of a CoP as its coordinator, hub and national see them.
type MemberView struct {
	CoPID                 string        `json:"cop_id"`
	PersonID              string        `json:"person_id"`
	Name                  string        `json:"name"`
	Roles                 []domain.Role `json:"roles"`
	CodeOfPracticeVersion int           `json:"code_of_practice_version"`
	JoinedAt              time.Time     `json:"joined_at"`
	CoordinatorTermEndsAt *time.Time    `json:"coordinator_term_ends_at,omitempty"`
}

func memberView(m *Member) MemberView {
	return MemberView{CoPID: m.CoPID, PersonID: m.PersonID, Name: m.Name, Roles: m.Roles,
		CodeOfPracticeVersion: m.CodeOfPracticeVersion, JoinedAt: m.JoinedAt, CoordinatorTermEndsAt: m.CoordinatorTermEndsAt}
}

// Join makes a person a member of an approved CoP, accepting its current Code of Practice:
// the person themselves, the CoP's coordinator, its region's hub, or national.
func (a *Application) Join(ctx context.Context, c httpx.Claims, copID string, in NewMember) (*MemberView, error) {
	what := "add members to CoP " + copID
	if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub) || c.IsCoordinatorOf(copID) || c.IsPerson(in.PersonID), what); err != nil {
		return nil, err
	}
	var v apperr.Validator
	v.Check(in.PersonID != "", "person_id", "is required")
	v.Check(in.CodeOfPracticeVersion >= 1, "code_of_practice_version", "is required: the version of the CoP's Code of Practice the person accepts (1, 2, ...)")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *MemberView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		cop, err := tx.CoP(ctx, copID, true)
		if err != nil {
			return nil, err
		}
		// The hub grant is checked against the CoP's region now it is known; another grant the
		// caller holds (national, this CoP's coordinator, the person themselves) still counts.
		if cop != nil && c.Holds(httpx.RoleHub) && !c.IsNational() && !c.IsCoordinatorOf(copID) && !c.IsPerson(in.PersonID) {
			if err := httpx.Authorize(c, c.IsHubOf(cop.Region), what); err != nil {
				return nil, err
			}
		}
		if err := joinable(copID, cop); err != nil {
			return nil, err
		}
		if err := acceptsCurrent(cop, in.CodeOfPracticeVersion); err != nil {
			return nil, err
		}
		// A person joins by themselves only where the CoP takes online registrations;
		// elsewhere they join by accepting an invitation.
		if !runsCoP(c, cop) && !cop.OpenRegistration {
			return nil, apperr.Forbidden("CoP %s does not take online registrations: ask its coordinator for an invitation", copID)
		}
		if p, err := tx.Person(ctx, in.PersonID, true); err != nil {
			return nil, err
		} else if p == nil || p.Erased {
			return nil, apperr.Unprocessable("person_id", "is not a registered person")
		}
		m, err := tx.Membership(ctx, copID, in.PersonID, true)
		if err != nil {
			return nil, err
		}
		if m != nil && m.Active {
			return nil, apperr.Conflict("person %s is already a member of CoP %s", in.PersonID, copID)
		}
		joined, err := a.join(ctx, tx, cop, in.PersonID)
		if err != nil {
			return nil, err
		}
		m, err = tx.Membership(ctx, copID, in.PersonID, false)
		if err != nil {
			return nil, err
		}
		v := memberView(m)
		out = &v
		return []events.Event{joined}, nil
	})
}

// acceptsCurrent checks that a member accepts the Code of Practice in force, and says which
// one that is when they do not.
func acceptsCurrent(cop *CoP, version int) error {
	if cop.CodeOfPracticeVersion == 0 {
		return apperr.Unprocessable("code_of_practice_version", fmt.Sprintf("cannot be accepted yet: CoP %s has not published a Code of Practice", cop.ID))
	}
	if version != cop.CodeOfPracticeVersion {
		return apperr.Unprocessable("code_of_practice_version", fmt.Sprintf("must be the current Code of Practice, version %d", cop.CodeOfPracticeVersion))
	}
	return nil
}

// join starts a membership under the CoP's current Code of Practice; member_joined is the
// event it causes.
func (a *Application) join(ctx context.Context, tx Tx, cop *CoP, personID string) (events.Event, error) {
	if err := tx.Join(ctx, cop.ID, personID, cop.CodeOfPracticeVersion, a.now()); err != nil {
		return nil, err
	}
	return events.MemberJoined{CoPID: cop.ID, Region: cop.Region, PersonID: personID, CodeOfPracticeVersion: cop.CodeOfPracticeVersion}, nil
}

// Members lists a CoP's roster with roles (its coordinator, its hub, national).
func (a *Application) Members(ctx context.Context, c httpx.Claims, copID string) ([]MemberView, error) {
	out := []MemberView{}
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		// The working group self-manages the membership (the WA CoP's Terms of
		// Reference): it reads the roster it may propose removals from.
		wg, err := inWorkingGroup(ctx, tx, c, copID)
		if err != nil {
			return nil, err
		}
		if !wg {
			if _, err := knownCoP(ctx, tx, c, copID, "see the members of CoP "+copID); err != nil {
				return nil, err
			}
		}
		ms, err := tx.Members(ctx, copID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			out = append(out, memberView(m))
		}
		return nil, nil
	})
}

// Leave ends the caller's own membership.
func (a *Application) Leave(ctx context.Context, c httpx.Claims, copID, personID string) error {
	if err := httpx.Authorize(c, c.IsPerson(personID), "end another person's membership (removal is by the working group's vote)"); err != nil {
		return err
	}
	return a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		m, err := tx.Membership(ctx, copID, personID, true)
		if err != nil {
			return nil, err
		}
		if m == nil || !m.Active {
			return nil, apperr.NotFound("person %s is not a member of CoP %s", personID, copID)
		}
		left, err := a.leave(ctx, tx, copID, personID, "left")
		if err != nil {
			return nil, err
		}
		return left, nil
	})
}

// SetRoles sets a member's roles (the CoP's coordinator, its hub, national).
func (a *Application) SetRoles(ctx context.Context, c httpx.Claims, copID, personID string, roles []domain.Role) (*MemberView, error) {
	if roles == nil {
		return nil, apperr.Invalid("roles", "is required (an empty list leaves only membership)")
	}
	var out *MemberView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		if _, err := knownCoP(ctx, tx, c, copID, "change roles in CoP "+copID); err != nil {
			return nil, err
		}
		m, err := tx.Membership(ctx, copID, personID, true)
		if err != nil {
			return nil, err
		}
		if m == nil || !m.Active {
			return nil, apperr.NotFound("person %s is not a member of CoP %s", personID, copID)
		}
		assigned, revoked, err := domain.ChangeRoles(m.Roles, roles)
		if err != nil {
			return nil, apperr.Unprocessable("roles", err.Error())
		}
		next := []domain.Role{}
		for _, r := range m.Roles {
			if !slices.Contains(revoked, r) {
				next = append(next, r)
			}
		}
		next = append(next, assigned...)
		term := m.CoordinatorTermEndsAt
		if slices.Contains(revoked, domain.RoleCoordinator) {
			term = nil
		}
		if err := tx.SetRoles(ctx, copID, personID, next, term); err != nil {
			return nil, err
		}
		var evs []events.Event
		for _, r := range assigned {
			evs = append(evs, events.RoleAssigned{CoPID: copID, PersonID: personID, Role: string(r)})
		}
		for _, r := range revoked {
			evs = append(evs, events.RoleRevoked{CoPID: copID, PersonID: personID, Role: string(r)})
		}
		m.Roles, m.CoordinatorTermEndsAt = next, term
		v := memberView(m)
		out = &v
		return evs, nil
	})
}

// ImportResult says what a bulk import did. Nobody is joined by it: each row is a person
// already a member, or one invited to become one (or who was already invited).
type ImportResult struct {
	Rows           int `json:"rows"`
	Invited        int `json:"invited"`
	AlreadyInvited int `json:"already_invited"`
	AlreadyMembers int `json:"already_members"`
}

// Import onboards a roster (its coordinator, its hub, national): every row is checked first and any bad row
// imports nothing. Nobody is joined without their consent: each person who is not already
// a member (matched by e-mail, ignoring case) is invited to become one, and joins when they
// accept the invitation and the CoP's Code of Practice. Importing the same file again
// invites nobody twice while the invitations are open.
//
// The whole body is read and checked before any transaction: the CoP's row lock is held
// only while the rows are written, so a slow upload cannot block joins to the CoP or any
// other request waiting for a connection.
func (a *Application) Import(ctx context.Context, c httpx.Claims, copID string, body io.Reader) (*ImportResult, error) {
	what := "import members into CoP " + copID
	if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub) || c.IsCoordinatorOf(copID), what); err != nil {
		return nil, err
	}
	// The CoP is checked before the body is read, without a lock, so that a caller is told
	// 403 or that the CoP does not take members yet before uploading anything; it is checked
	// again under the lock, in case it changed while the body arrived.
	if err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		_, err := importableCoP(ctx, tx, c, copID, false)
		return nil, err
	}); err != nil {
		return nil, err
	}
	rows, err := domain.ParseRoster(body)
	if err != nil {
		return nil, err
	}
	res := &ImportResult{}
	return res, a.withMail(ctx, func(tx Tx) ([]events.Event, error) {
		res.Rows = len(rows)
		if _, err := importableCoP(ctx, tx, c, copID, true); err != nil {
			return nil, err
		}
		for _, row := range rows {
			id, err := tx.PersonIDByEmail(ctx, row.Email)
			if err != nil {
				return nil, err
			}
			if id != "" {
				m, err := tx.Membership(ctx, copID, id, false)
				if err != nil {
					return nil, err
				}
				if m != nil && m.Active {
					res.AlreadyMembers++
					continue
				}
			}
			in, err := checkNewInvitation(NewInvitation{Email: row.Email, Name: row.Name,
				Grant: httpx.Grant{Role: httpx.RoleMember, CoP: copID}})
			if err != nil {
				return nil, err
			}
			_, err = a.invite(ctx, tx, c, in, row.Organisation)
			switch {
			case errors.Is(err, errAlreadyOpen):
				res.AlreadyInvited++
			case err != nil:
				return nil, err
			default:
				res.Invited++
			}
		}
		return nil, nil
	})
}

// importableCoP loads a CoP for an import (locked when lock), refusing hubs of other regions
// and CoPs that take no members yet.
func importableCoP(ctx context.Context, tx Tx, c httpx.Claims, copID string, lock bool) (*CoP, error) {
	cop, err := tx.CoP(ctx, copID, lock)
	if err != nil {
		return nil, err
	}
	if cop != nil {
		if err := httpx.Authorize(c, runsCoP(c, cop), "import members into CoP "+copID); err != nil {
			return nil, err
		}
	}
	if err := joinable(copID, cop); err != nil {
		return nil, err
	}
	if cop.CodeOfPracticeVersion == 0 {
		return nil, apperr.Unprocessable("", fmt.Sprintf("CoP %s has not published a Code of Practice for members to accept", copID))
	}
	return cop, nil
}
