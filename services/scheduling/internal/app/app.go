// Package app is everything scheduling's ports may ask of it: commands and queries, each
// checking who may do it. Who may: national everywhere; a hub for the CoPs of its region;
// a coordinator for its own CoP; members see their CoPs' sessions and manage their own
// rotation and calendar.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/scheduling/domain"
	"github.com/copnet/copnet/services/scheduling/internal/adapters"
)

// Application is scheduling's use cases.
type Application struct {
	repo *adapters.Repository
}

// New returns the application over repo.
func New(repo *adapters.Repository) *Application { return &Application{repo: repo} }

// manages reports whether c runs the CoP: national, its region's hub, its coordinator.
func manages(c httpx.Claims, cop adapters.CoP) bool {
	return c.IsNational() || c.IsHubOf(cop.Region) || c.IsCoordinatorOf(cop.ID)
}

// mayManage is the check before the CoP is loaded: it rules out roles that could never
// manage it, so that they get 403 rather than learn whether the CoP exists.
func mayManage(c httpx.Claims, copID string) bool {
	return c.IsNational() || c.Role == httpx.RoleHub || c.IsCoordinatorOf(copID)
}

// authorizeManage loads the CoP and lets only those who run it through.
func (a *Application) authorizeManage(ctx context.Context, c httpx.Claims, copID, what string) (adapters.CoP, error) {
	if err := httpx.Authorize(c, mayManage(c, copID), what); err != nil {
		return adapters.CoP{}, err
	}
	cop, err := a.repo.CoP(ctx, copID)
	if err != nil {
		return cop, err
	}
	return cop, httpx.Authorize(c, manages(c, cop), what)
}

// authorizeSee also lets the CoP's current members through.
func (a *Application) authorizeSee(ctx context.Context, c httpx.Claims, copID, what string) (adapters.CoP, error) {
	if err := httpx.Authorize(c, c.Role != "", what); err != nil {
		return adapters.CoP{}, err
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
	Program  *adapters.Program
	Sessions []*domain.Session
}

// PlanProgram generates a program's sessions from its cadence in the CoP's time zone and
// stores them (those who run the CoP).
func (a *Application) PlanProgram(ctx context.Context, c httpx.Claims, copID string, in NewProgram) (*PlannedProgram, error) {
	if _, err := a.authorizeManage(ctx, c, copID, "plan this CoP's program"); err != nil {
		return nil, err
	}
	d, err := in.plan(a.repo.Now())
	if err != nil {
		return nil, err
	}
	p := &adapters.Program{
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
	if err := a.repo.AddProgram(ctx, p, sessions); err != nil {
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
	if err := httpx.Authorize(c, c.Role != "", "see sessions"); err != nil {
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
	if err := httpx.Authorize(c, c.IsNational() || c.Role == httpx.RoleHub || c.Role == httpx.RoleCoordinator, what); err != nil {
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
	ch, err := in.change(s.Timezone, a.repo.Now())
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
	s, err := a.repo.UpdateSession(ctx, id, fn)
	return s, conflict(err)
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
	return a.repo.SetHosts(ctx, id, group)
}

// SetRotation opts a member in or out of rotating roles: the member themselves, or those
// who run the CoP. Roles omitted means both.
func (a *Application) SetRotation(ctx context.Context, c httpx.Claims, copID, person string, in Rotation) (adapters.Willingness, error) {
	var w adapters.Willingness
	if err := httpx.Authorize(c, c.Role != "", "set rotation"); err != nil {
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
	return w, a.repo.SetRotation(ctx, copID, person, w)
}

// RecordAttendance stores who attended a session (those who run the CoP).
func (a *Application) RecordAttendance(ctx context.Context, c httpx.Claims, id string, records []adapters.Record) (events.AttendanceRecorded, error) {
	if _, err := a.authorizeSession(ctx, c, id, "record attendance"); err != nil {
		return events.AttendanceRecorded{}, err
	}
	if err := checkRecords(records); err != nil {
		return events.AttendanceRecorded{}, err
	}
	return a.repo.RecordAttendance(ctx, id, records)
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
	s, err := a.repo.Hold(ctx, id, in.Notes, in.Outcomes)
	return s, conflict(err)
}

// Participation is a CoP's attendance per held session and its trend.
type Participation struct {
	Sessions []adapters.HeldTurnout
	Trend    domain.Trend
	Rule     domain.DeclineRule
}

// Participation reports attendance and its trend (those who run the CoP).
func (a *Application) Participation(ctx context.Context, c httpx.Claims, copID string) (*Participation, error) {
	if _, err := a.authorizeManage(ctx, c, copID, "see this CoP's participation"); err != nil {
		return nil, err
	}
	held, trend, err := a.repo.Participation(ctx, copID)
	if err != nil {
		return nil, err
	}
	return &Participation{Sessions: held, Trend: trend, Rule: a.repo.DeclineRule()}, nil
}

// CoPCalendar returns a CoP and its sessions for its feed, to a bearer who may see them or
// to the holder of the CoP's secret feed key.
func (a *Application) CoPCalendar(ctx context.Context, c httpx.Claims, copID, key string) (adapters.CoP, []adapters.CalendarEntry, error) {
	var cop adapters.CoP
	var err error
	if c.Role == "" && key != "" {
		if err := a.checkKey(ctx, adapters.FeedCoP, copID, key); err != nil {
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
func (a *Application) PersonCalendar(ctx context.Context, c httpx.Claims, person, key string) ([]adapters.CalendarEntry, error) {
	if c.Role == "" && key != "" {
		if err := a.checkKey(ctx, adapters.FeedPerson, person, key); err != nil {
			return nil, err
		}
	} else if err := httpx.Authorize(c, c.IsPerson(person), "read another person's calendar"); err != nil {
		return nil, err
	}
	return a.repo.PersonCalendar(ctx, person)
}

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
	return a.newKey(ctx, adapters.FeedPerson, person)
}

// NewCoPFeedKey issues a new secret key for a CoP's calendar feed (those who run it).
func (a *Application) NewCoPFeedKey(ctx context.Context, c httpx.Claims, copID string) (string, error) {
	if _, err := a.authorizeManage(ctx, c, copID, "issue this CoP's calendar link"); err != nil {
		return "", err
	}
	return a.newKey(ctx, adapters.FeedCoP, copID)
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
