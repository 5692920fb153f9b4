// Package app is everything scheduling's ports and its event consumers may ask of it:
// commands, queries and consumed events (On<Event>), each checking who may do it and
// running the use case (rotation, participation assessment) over the repository, which
// owns the transaction and the outbox. Who may: national everywhere; a hub for the CoPs of
// its region; a coordinator for its own CoP; members see their CoPs' sessions and manage
// their own rotation and calendar.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/scheduling/domain"
)

// Repository is the store the application needs. InCoP and InSession run a use case in one
// transaction under the CoP's row lock and write the events it returns to the outbox; the
// ctx they hand the use case carries that transaction, and every other method called with
// it takes part.
type Repository interface {
	InCoP(ctx context.Context, cop string, fn func(context.Context, domain.CoP) ([]events.Event, error)) error
	InSession(ctx context.Context, id string, fn func(context.Context, *domain.Session) ([]events.Event, error)) error

	CoP(ctx context.Context, id string) (domain.CoP, error)
	KnowsCoP(ctx context.Context, cop string) (bool, error)
	ApproveCoP(ctx context.Context, cop, region string) error
	RetireCoP(ctx context.Context, cop, region string) error
	NameCoP(ctx context.Context, cop, name string) error

	IsMember(ctx context.Context, cop, person string) (bool, error)
	SetMembership(ctx context.Context, cop, person string, current bool, at time.Time) error
	Erased(ctx context.Context, person string) (bool, error)
	Erase(ctx context.Context, person string, now time.Time) (cops []string, err error)

	AddProgram(ctx context.Context, p *domain.Program, sessions []*domain.Session) error
	CheckinAfter(ctx context.Context, program string, number int) (bool, error)

	Session(ctx context.Context, id string) (*domain.Session, error)
	Sessions(ctx context.Context, cop string, from, to time.Time) ([]*domain.Session, error)
	UncancelledSessions(ctx context.Context, cop string) ([]*domain.Session, error)
	ScheduledAfter(ctx context.Context, cop string, now time.Time) ([]*domain.Session, error)
	SaveSession(ctx context.Context, s *domain.Session) error
	SetHostGroup(ctx context.Context, id string, group []string) error
	HandToHosts(ctx context.Context, id string, group []string) error
	SetRoles(ctx context.Context, s *domain.Session) error

	SetWillingness(ctx context.Context, cop, person string, w domain.Willingness) error
	Willing(ctx context.Context, cop string) (domain.Willing, error)

	SetAttendance(ctx context.Context, session string, records []events.Attendance) error
	Attendance(ctx context.Context, session string) ([]events.Attendance, error)
	CountRoster(ctx context.Context, s *domain.Session) (int, error)
	HeldTurnouts(ctx context.Context, cop string) ([]domain.HeldTurnout, error)
	SetDeclining(ctx context.Context, cop string, declining bool) (was bool, err error)

	CoPCalendar(ctx context.Context, cop string) ([]domain.CalendarEntry, error)
	PersonCalendar(ctx context.Context, person string) ([]domain.CalendarEntry, error)
	SetFeedKey(ctx context.Context, kind, subject, key string) error
	FeedKeyValid(ctx context.Context, kind, subject, key string) (bool, error)

	SetRSVP(ctx context.Context, rsvp domain.RSVP) error
	RSVPs(ctx context.Context, session string) ([]domain.RSVP, error)
	NextSessions(ctx context.Context, person string, now time.Time, limit int) ([]domain.PersonalSession, error)
	Programs(ctx context.Context, cop string) ([]*domain.Program, error)
}

// Application is scheduling's use cases.
type Application struct {
	repo    Repository
	now     func() time.Time
	decline domain.DeclineRule
}

// New returns the application over repo, reading the time from now and judging
// participation with decline.
func New(repo Repository, now func() time.Time, decline domain.DeclineRule) *Application {
	return &Application{repo: repo, now: now, decline: decline}
}

// manages reports whether c runs the CoP: national, its region's hub, its coordinator.
func manages(c httpx.Claims, cop domain.CoP) bool {
	return c.IsNational() || c.IsHubOf(cop.Region) || c.IsCoordinatorOf(cop.ID)
}

// mayManage is the check before the CoP is loaded: it rules out roles that could never
// manage it, so that they get 403 rather than learn whether the CoP exists.
func mayManage(c httpx.Claims, copID string) bool {
	return c.IsNational() || c.Holds(httpx.RoleHub) || c.IsCoordinatorOf(copID)
}

// authorizeManage loads the CoP and lets only those who run it through.
func (a *Application) authorizeManage(ctx context.Context, c httpx.Claims, copID, what string) (domain.CoP, error) {
	if err := httpx.Authorize(c, mayManage(c, copID), what); err != nil {
		return domain.CoP{}, err
	}
	cop, err := a.repo.CoP(ctx, copID)
	if err != nil {
		return cop, err
	}
	return cop, httpx.Authorize(c, manages(c, cop), what)
}

// authorizeSee also lets the CoP's current members through.
func (a *Application) authorizeSee(ctx context.Context, c httpx.Claims, copID, what string) (domain.CoP, error) {
	if err := httpx.Authorize(c, c.Signed(), what); err != nil {
		return domain.CoP{}, err
	}
	cop, err := a.repo.CoP(ctx, copID)
	if err != nil {
		return cop, err
	}
	if manages(c, cop) {
		return cop, nil
	}
	member, err := a.repo.IsMember(ctx, copID, c.Subject)
	if err != nil {
		return cop, err
	}
	return cop, httpx.Authorize(c, member && c.Subject != "", what)
}

// PlannedProgram is a program with its sessions.
type PlannedProgram struct {
	Program  *domain.Program
	Sessions []*domain.Session
}

// PlanProgram generates a program's sessions from its cadence in the CoP's time zone and
// stores them (those who run the CoP).
func (a *Application) PlanProgram(ctx context.Context, c httpx.Claims, copID string, in NewProgram) (*PlannedProgram, error) {
	if _, err := a.authorizeManage(ctx, c, copID, "plan this CoP's program"); err != nil {
		return nil, err
	}
	d, err := in.plan(a.now())
	if err != nil {
		return nil, err
	}
	p := &domain.Program{
		ID: strings.ToLower(events.NewID()), CoPID: copID, Title: d.title, Sessions: in.Sessions,
		FirstSessionAt: d.firstLocal, Timezone: d.timezone, Cadence: d.cadence, DurationMinutes: in.DurationMinutes,
		Format: d.format, Checkins: d.checkins,
	}
	slots := d.slots
	sessions := make([]*domain.Session, len(slots))
	for i, s := range slots {
		sessions[i] = &domain.Session{
			ID: strings.ToLower(events.NewID()), ProgramID: p.ID, CoPID: copID, Number: s.Number,
			StartsAt: s.StartsAt.UTC(), EndsAt: s.EndsAt.UTC(), Timezone: p.Timezone, Status: domain.StatusScheduled,
			HostGroup: []string{}, Outcomes: []string{},
		}
	}
	err = a.repo.InCoP(ctx, copID, func(ctx context.Context, c domain.CoP) ([]events.Event, error) {
		if c.Retired {
			return nil, apperr.Conflict("CoP %s is retired; it plans no more sessions", c.ID)
		}
		if err := a.repo.AddProgram(ctx, p, sessions); err != nil {
			return nil, err
		}
		evs := []events.Event{events.ProgramPlanned{ProgramID: p.ID, CoPID: p.CoPID, Title: p.Title,
			Sessions: p.Sessions, Timezone: p.Timezone, Cadence: p.Cadence, Format: p.Format}}
		for _, s := range sessions {
			evs = append(evs, events.SessionScheduled{SessionID: s.ID, ProgramID: s.ProgramID, CoPID: s.CoPID,
				Number: s.Number, StartsAt: s.StartsAt, EndsAt: s.EndsAt, Timezone: s.Timezone, Topic: s.Topic})
		}
		roles, err := a.rotate(ctx, copID)
		return append(evs, roles...), err
	})
	if err != nil {
		return nil, err
	}
	// Reload: the rotation has given the sessions their roles.
	stored, err := a.repo.Sessions(ctx, copID, sessions[0].StartsAt, sessions[len(sessions)-1].StartsAt.Add(time.Second))
	if err != nil {
		return nil, err
	}
	out := &PlannedProgram{Program: p, Sessions: []*domain.Session{}}
	for _, s := range stored {
		if s.ProgramID == p.ID {
			out.Sessions = append(out.Sessions, s)
		}
	}
	return out, nil
}

// Sessions lists a CoP's sessions starting in [from, to) to those who run it and its
// members. Zero bounds mean unbounded.
func (a *Application) Sessions(ctx context.Context, c httpx.Claims, copID string, from, to time.Time) ([]*domain.Session, error) {
	if _, err := a.authorizeSee(ctx, c, copID, "see this CoP's sessions"); err != nil {
		return nil, err
	}
	if from.IsZero() {
		from = time.Unix(0, 0)
	}
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if !to.After(from) {
		return nil, apperr.Invalid("to", "must be after from")
	}
	return a.repo.Sessions(ctx, copID, from, to)
}

// Session returns one session to those who may see its CoP's sessions.
func (a *Application) Session(ctx context.Context, c httpx.Claims, id string) (*domain.Session, error) {
	if err := httpx.Authorize(c, c.Signed(), "see sessions"); err != nil {
		return nil, err
	}
	s, err := a.repo.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := a.authorizeSee(ctx, c, s.CoPID, "see this session"); err != nil {
		return nil, err
	}
	return s, nil
}

// authorizeSession loads a session and lets those who run its CoP through.
func (a *Application) authorizeSession(ctx context.Context, c httpx.Claims, id, what string) (*domain.Session, error) {
	if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub) || c.Holds(httpx.RoleCoordinator), what); err != nil {
		return nil, err
	}
	s, err := a.repo.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := a.authorizeManage(ctx, c, s.CoPID, what); err != nil {
		return nil, err
	}
	return s, nil
}

// RescheduleSession moves a session or changes its topic, place or link.
func (a *Application) RescheduleSession(ctx context.Context, c httpx.Claims, id string, in Reschedule) (*domain.Session, error) {
	s, err := a.authorizeSession(ctx, c, id, "change this session")
	if err != nil {
		return nil, err
	}
	ch, err := in.change(s.Timezone, a.now())
	if err != nil {
		return nil, err
	}
	return a.update(ctx, id, func(s *domain.Session) (events.Event, error) { return s.Reschedule(ch) })
}

// CancelSession calls a session off.
func (a *Application) CancelSession(ctx context.Context, c httpx.Claims, id string, in Cancellation) (*domain.Session, error) {
	if _, err := a.authorizeSession(ctx, c, id, "cancel this session"); err != nil {
		return nil, err
	}
	reason, err := in.reason()
	if err != nil {
		return nil, err
	}
	return a.update(ctx, id, func(s *domain.Session) (events.Event, error) { return s.Cancel(reason) })
}

func (a *Application) update(ctx context.Context, id string, fn func(*domain.Session) (events.Event, error)) (*domain.Session, error) {
	var out *domain.Session
	err := a.repo.InSession(ctx, id, func(ctx context.Context, s *domain.Session) ([]events.Event, error) {
		out = s
		ev, err := fn(s)
		if err != nil || ev == nil {
			return nil, err
		}
		return []events.Event{ev}, a.repo.SaveSession(ctx, s)
	})
	return out, conflict(err)
}

// SetHosts hands a session to a named group of members, or back to the rotation.
func (a *Application) SetHosts(ctx context.Context, c httpx.Claims, id string, in Hosts) (*domain.Session, error) {
	if _, err := a.authorizeSession(ctx, c, id, "choose this session's hosts"); err != nil {
		return nil, err
	}
	group, err := in.group()
	if err != nil {
		return nil, err
	}
	err = a.repo.InSession(ctx, id, func(ctx context.Context, s *domain.Session) ([]events.Event, error) {
		if !s.Upcoming(a.now()) {
			return nil, apperr.Conflict("session %s is %s or already started; its hosts cannot change", s.ID, s.Status)
		}
		var missing []string
		for _, p := range group {
			ok, err := a.repo.IsMember(ctx, s.CoPID, p)
			if err != nil {
				return nil, err
			}
			if !ok {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return nil, apperr.Unprocessable("host_group", fmt.Sprintf("%v are not current members of the CoP", missing))
		}
		s.HostGroup = group
		s.Facilitator, s.NoteTaker = "", ""
		if err := a.repo.HandToHosts(ctx, s.ID, group); err != nil {
			return nil, err
		}
		var evs []events.Event
		if len(group) > 0 {
			evs = append(evs, rolesAssigned(s))
		}
		// Back to the rotation: refill the freed roles.
		roles, err := a.rotate(ctx, s.CoPID)
		return append(evs, roles...), err
	})
	if err != nil {
		return nil, err
	}
	return a.repo.Session(ctx, id)
}

// SetRotation opts a member in or out of rotating roles: the member themselves, or those
// who run the CoP. Roles omitted means both.
func (a *Application) SetRotation(ctx context.Context, c httpx.Claims, copID, person string, in Rotation) (domain.Willingness, error) {
	var w domain.Willingness
	if err := httpx.Authorize(c, c.Signed(), "set rotation"); err != nil {
		return w, err
	}
	cop, err := a.repo.CoP(ctx, copID)
	if err != nil {
		return w, err
	}
	if !manages(c, cop) {
		member, err := a.repo.IsMember(ctx, copID, person)
		if err != nil {
			return w, err
		}
		if err := httpx.Authorize(c, c.IsPerson(person) && member, "set another person's rotation"); err != nil {
			return w, err
		}
	}
	if w, err = in.willingness(); err != nil {
		return w, err
	}
	// Rebalance the CoP's upcoming turns: an opt-out frees their turns, an opt-in fills
	// turns nobody had.
	return w, a.repo.InCoP(ctx, copID, func(ctx context.Context, _ domain.CoP) ([]events.Event, error) {
		member, err := a.repo.IsMember(ctx, copID, person)
		if err != nil {
			return nil, err
		}
		if !member {
			return nil, apperr.Unprocessable("person_id", "is not a current member of CoP "+copID)
		}
		if err := a.repo.SetWillingness(ctx, copID, person, w); err != nil {
			return nil, err
		}
		return a.rotate(ctx, copID)
	})
}

// RecordAttendance stores who attended a session (those who run the CoP).
func (a *Application) RecordAttendance(ctx context.Context, c httpx.Claims, id string, records []Record) (events.AttendanceRecorded, error) {
	if _, err := a.authorizeSession(ctx, c, id, "record attendance"); err != nil {
		return events.AttendanceRecorded{}, err
	}
	if err := checkRecords(records); err != nil {
		return events.AttendanceRecorded{}, err
	}
	recs := make([]events.Attendance, len(records))
	for i, r := range records {
		recs[i] = events.Attendance{PersonID: r.PersonID, Status: r.Status}
	}
	// A record per person, replacing an earlier one; attendance_recorded carries the
	// session's totals.
	var ev events.AttendanceRecorded
	err := a.repo.InSession(ctx, id, func(ctx context.Context, s *domain.Session) ([]events.Event, error) {
		if s.Status == domain.StatusCancelled {
			return nil, apperr.Conflict("session %s was cancelled; nobody attended it", s.ID)
		}
		if a.now().Before(s.StartsAt) {
			return nil, apperr.Conflict("session %s has not started; attendance is recorded once it has", s.ID)
		}
		for i, rec := range recs {
			if gone, err := a.repo.Erased(ctx, rec.PersonID); err != nil {
				return nil, err
			} else if gone {
				return nil, apperr.Unprocessable(fmt.Sprintf("[%d].person_id", i), "names a person who was erased")
			}
		}
		if err := a.repo.SetAttendance(ctx, s.ID, recs); err != nil {
			return nil, err
		}
		all, err := a.repo.Attendance(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		ev = events.AttendanceRecorded{SessionID: s.ID, CoPID: s.CoPID, StartsAt: s.StartsAt, Records: []events.Attendance{}}
		for _, r := range all {
			ev.Records = append(ev.Records, r)
			switch r.Status {
			case "attended":
				ev.Attended++
			case "apologies":
				ev.Apologies++
			default:
				ev.Absent++
			}
		}
		if ev.Members, err = a.repo.CountRoster(ctx, s); err != nil {
			return nil, err
		}
		evs := []events.Event{ev}
		if s.Status != domain.StatusHeld {
			return evs, nil
		}
		more, err := a.assessParticipation(ctx, s.CoPID)
		return append(evs, more...), err
	})
	return ev, err
}

// HoldSession records that a session took place.
func (a *Application) HoldSession(ctx context.Context, c httpx.Claims, id string, in Holding) (*domain.Session, error) {
	if _, err := a.authorizeSession(ctx, c, id, "record this session as held"); err != nil {
		return nil, err
	}
	in, err := in.check()
	if err != nil {
		return nil, err
	}
	// session_held, checkin_due when the program asked for a check-in after it, and
	// participation_declining when attendance has dropped off.
	var out *domain.Session
	err = a.repo.InSession(ctx, id, func(ctx context.Context, s *domain.Session) ([]events.Event, error) {
		ev, err := s.Hold(a.now(), in.Notes, in.Outcomes)
		if err != nil {
			return nil, err
		}
		if err := a.repo.SaveSession(ctx, s); err != nil {
			return nil, err
		}
		if _, err := a.repo.CountRoster(ctx, s); err != nil {
			return nil, err
		}
		evs := []events.Event{ev}
		checkin, err := a.repo.CheckinAfter(ctx, s.ProgramID, s.Number)
		if err != nil {
			return nil, err
		}
		if checkin {
			evs = append(evs, events.CheckinDue{CoPID: s.CoPID, SessionID: s.ID, Number: s.Number})
		}
		out = s
		more, err := a.assessParticipation(ctx, s.CoPID)
		return append(evs, more...), err
	})
	return out, conflict(err)
}

// Participation is a CoP's attendance per held session and its trend.
type Participation struct {
	Sessions []domain.HeldTurnout
	Trend    domain.Trend
	Rule     domain.DeclineRule
}

// Participation reports attendance and its trend (those who run the CoP).
func (a *Application) Participation(ctx context.Context, c httpx.Claims, copID string) (*Participation, error) {
	if _, err := a.authorizeManage(ctx, c, copID, "see this CoP's participation"); err != nil {
		return nil, err
	}
	held, err := a.repo.HeldTurnouts(ctx, copID)
	if err != nil {
		return nil, err
	}
	return &Participation{Sessions: held, Trend: a.trend(held), Rule: a.decline}, nil
}

// CoPCalendar returns a CoP and its sessions for its feed, to a bearer who may see them or
// to the holder of the CoP's secret feed key.
func (a *Application) CoPCalendar(ctx context.Context, c httpx.Claims, copID, key string) (domain.CoP, []domain.CalendarEntry, error) {
	var cop domain.CoP
	var err error
	if !c.Signed() && key != "" {
		if err := a.checkKey(ctx, FeedCoP, copID, key); err != nil {
			return cop, nil, err
		}
		cop, err = a.repo.CoP(ctx, copID)
	} else {
		cop, err = a.authorizeSee(ctx, c, copID, "read this CoP's calendar")
	}
	if err != nil {
		return cop, nil, err
	}
	entries, err := a.repo.CoPCalendar(ctx, copID)
	return cop, entries, err
}

// PersonCalendar returns the sessions of every CoP a person belongs to, to that person or
// to the holder of their secret feed key.
func (a *Application) PersonCalendar(ctx context.Context, c httpx.Claims, person, key string) ([]domain.CalendarEntry, error) {
	if !c.Signed() && key != "" {
		if err := a.checkKey(ctx, FeedPerson, person, key); err != nil {
			return nil, err
		}
	} else if err := httpx.Authorize(c, c.IsPerson(person), "read another person's calendar"); err != nil {
		return nil, err
	}
	return a.repo.PersonCalendar(ctx, person)
}

// Feed kinds: a person's own calendar, or a whole CoP's.
const (
	FeedPerson = "person"
	FeedCoP    = "cop"
)

func (a *Application) checkKey(ctx context.Context, kind, subject, key string) error {
	ok, err := a.repo.FeedKeyValid(ctx, kind, subject, key)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Unauthenticated("the calendar key is not valid (it may have been replaced)")
	}
	return nil
}

// NewPersonFeedKey issues a new secret key for a person's calendar feed (the person
// only), revoking the previous one.
func (a *Application) NewPersonFeedKey(ctx context.Context, c httpx.Claims, person string) (string, error) {
	if err := httpx.Authorize(c, c.IsPerson(person), "issue another person's calendar link"); err != nil {
		return "", err
	}
	return a.newKey(ctx, FeedPerson, person)
}

// NewCoPFeedKey issues a new secret key for a CoP's calendar feed (those who run it).
func (a *Application) NewCoPFeedKey(ctx context.Context, c httpx.Claims, copID string) (string, error) {
	if _, err := a.authorizeManage(ctx, c, copID, "issue this CoP's calendar link"); err != nil {
		return "", err
	}
	return a.newKey(ctx, FeedCoP, copID)
}

func (a *Application) newKey(ctx context.Context, kind, subject string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := base64.RawURLEncoding.EncodeToString(b)
	return key, a.repo.SetFeedKey(ctx, kind, subject, key)
}

// conflict turns a refused transition into a 409 that says why.
func conflict(err error) error {
	if errors.Is(err, domain.ErrTransition) {
		return apperr.Conflict("%s", err.Error())
	}
	return err
}
