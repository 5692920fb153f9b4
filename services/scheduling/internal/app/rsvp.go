package app

// Members' answers ahead of a session (RSVP), their own upcoming sessions, the swap of a
// rotating role between two sessions, and what the attendance sheet and the planner read.

import (
	"context"
	"slices"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/scheduling/domain"
)

// RSVP is the input of Answer: the caller's own answer. There is no person field: a member
// answers only for themselves (an unknown field is refused by the decoder).
type RSVP struct {
	Answer string `json:"answer"`
}

func (in RSVP) check() error {
	var v apperr.Validator
	v.Check(in.Answer == domain.RSVPComing || in.Answer == domain.RSVPApologies, "answer", "must be coming or apologies")
	return v.Err()
}

// Answer records the caller's answer ahead of a session: only a current member of its
// CoP (coordinators and hubs answer as members too, when they are), and only while the
// session is scheduled and has not started.
func (a *Application) Answer(ctx context.Context, c httpx.Claims, id string, in RSVP) (domain.RSVP, error) {
	var out domain.RSVP
	if err := httpx.Authorize(c, c.Signed() && c.Subject != "", "answer for a session"); err != nil {
		return out, err
	}
	if err := in.check(); err != nil {
		return out, err
	}
	err := a.repo.InSession(ctx, id, func(ctx context.Context, s *domain.Session) ([]events.Event, error) {
		member, err := a.repo.IsMember(ctx, s.CoPID, c.Subject)
		if err != nil {
			return nil, err
		}
		if err := httpx.Authorize(c, member, "answer for a session of a CoP you are not a member of"); err != nil {
			return nil, err
		}
		if !s.Upcoming(a.now()) {
			return nil, apperr.Conflict("session %s is %s or already started; answers are taken before it starts", s.ID, s.Status)
		}
		out = domain.RSVP{SessionID: s.ID, PersonID: c.Subject, Answer: in.Answer, AnsweredAt: a.now().UTC()}
		// Nothing else needs the answers yet, so no event: the sheet reads them here.
		return nil, a.repo.SetRSVP(ctx, out)
	})
	return out, err
}

// RSVPs lists the answers ahead of a session: all of them to those who run its CoP, and a
// member's own to a member.
func (a *Application) RSVPs(ctx context.Context, c httpx.Claims, id string) ([]domain.RSVP, error) {
	s, err := a.Session(ctx, c, id)
	if err != nil {
		return nil, err
	}
	all, err := a.repo.RSVPs(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	cop, err := a.repo.CoP(ctx, s.CoPID)
	if err != nil {
		return nil, err
	}
	if manages(c, cop) {
		return all, nil
	}
	return slices.DeleteFunc(all, func(v domain.RSVP) bool { return v.PersonID != c.Subject }), nil
}

// AttendanceOf lists a session's attendance records (those who run its CoP).
func (a *Application) AttendanceOf(ctx context.Context, c httpx.Claims, id string) ([]events.Attendance, error) {
	s, err := a.authorizeSession(ctx, c, id, "see this session's attendance")
	if err != nil {
		return nil, err
	}
	recs, err := a.repo.Attendance(ctx, s.ID)
	if recs == nil {
		recs = []events.Attendance{}
	}
	return recs, err
}

// MaxNextSessions bounds a person's list of upcoming sessions.
const MaxNextSessions = 50

// NextSessions lists the caller's upcoming sessions across their CoPs with their answers.
func (a *Application) NextSessions(ctx context.Context, c httpx.Claims, limit int) ([]domain.PersonalSession, error) {
	if err := httpx.Authorize(c, c.Signed() && c.Subject != "", "see your sessions"); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxNextSessions {
		return nil, apperr.Invalid("limit", "must be between 1 and 50")
	}
	return a.repo.NextSessions(ctx, c.Subject, a.now(), limit)
}

// Programs lists a CoP's programs to those who may see its sessions.
func (a *Application) Programs(ctx context.Context, c httpx.Claims, copID string) ([]*domain.Program, error) {
	if _, err := a.authorizeSee(ctx, c, copID, "see this CoP's programs"); err != nil {
		return nil, err
	}
	return a.repo.Programs(ctx, copID)
}

// Swap is the input of SwapRole: the role whose holders two sessions exchange.
type Swap struct {
	Role        string `json:"role"`
	WithSession string `json:"with_session"`
}

func (in Swap) check(id string) error {
	var v apperr.Validator
	v.Check(slices.Contains(domain.Roles, domain.Role(in.Role)), "role", "must be facilitator or note_taker")
	v.Check(personID(in.WithSession) && in.WithSession != id, "with_session", "must be the id of another session")
	return v.Err()
}

// SwapRole exchanges who takes a role at two upcoming sessions of one CoP (those who run
// it): the facilitator of session 3 and of session 5 trade turns, say. The rotation keeps
// assignments that are still valid, so the swap stays. Refused when either session is
// hosted by a group, is not upcoming, or when the swap would give one person both roles
// of a session.
func (a *Application) SwapRole(ctx context.Context, c httpx.Claims, id string, in Swap) ([2]*domain.Session, error) {
	var out [2]*domain.Session
	if _, err := a.authorizeSession(ctx, c, id, "swap this session's roles"); err != nil {
		return out, err
	}
	if err := in.check(id); err != nil {
		return out, err
	}
	role := domain.Role(in.Role)
	err := a.repo.InSession(ctx, id, func(ctx context.Context, s *domain.Session) ([]events.Event, error) {
		other, err := a.repo.Session(ctx, in.WithSession)
		if err != nil {
			return nil, apperr.Unprocessable("with_session", "names no session")
		}
		if other.CoPID != s.CoPID {
			return nil, apperr.Unprocessable("with_session", "is a session of another CoP")
		}
		now := a.now()
		for _, x := range []*domain.Session{s, other} {
			if !x.Upcoming(now) {
				return nil, apperr.Conflict("session %d is %s or already started; its roles cannot change", x.Number, x.Status)
			}
			if len(x.HostGroup) > 0 {
				return nil, apperr.Conflict("session %d is hosted by a group; it has no rotating roles", x.Number)
			}
		}
		if role == domain.Facilitator {
			s.Facilitator, other.Facilitator = other.Facilitator, s.Facilitator
		} else {
			s.NoteTaker, other.NoteTaker = other.NoteTaker, s.NoteTaker
		}
		for _, x := range []*domain.Session{s, other} {
			if x.Facilitator != "" && x.Facilitator == x.NoteTaker {
				return nil, apperr.Conflict("the swap would make one person both facilitator and note-taker of session %d", x.Number)
			}
		}
		var evs []events.Event
		for _, x := range []*domain.Session{s, other} {
			if err := a.repo.SetRoles(ctx, x); err != nil {
				return nil, err
			}
			evs = append(evs, rolesAssigned(x))
		}
		out = [2]*domain.Session{s, other}
		return evs, nil
	})
	return out, err
}
