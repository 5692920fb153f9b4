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
	"slices"
	"strconv"
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

// NewProgram is the input of PlanProgram.
type NewProgram struct {
	Title           string   `json:"title"`
	Sessions        int      `json:"sessions"`
	FirstSessionAt  string   `json:"first_session_at"`
	Timezone        string   `json:"timezone"`
	Cadence         string   `json:"cadence"`
	DurationMinutes int      `json:"duration_minutes"`
	Format          []string `json:"format"`
	Checkins        []int    `json:"checkins"`
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
	var v apperr.Validator
	v.Check(strings.TrimSpace(in.Title) != "" && len(in.Title) <= 200, "title", "is required (at most 200 characters)")
	v.Check(in.Sessions >= 1 && in.Sessions <= domain.MaxSessions, "sessions", "must be between 1 and 100")
	loc, err := domain.LoadZone(in.Timezone)
	if err != nil {
		v.Check(false, "timezone", err.Error())
	}
	// The first session's form is checked even when the zone is wrong, so that one answer
	// names both problems.
	parseIn := loc
	if parseIn == nil {
		parseIn = time.UTC
	}
	first, err := domain.ParseLocal(in.FirstSessionAt, parseIn)
	if err != nil {
		v.Check(false, "first_session_at", err.Error())
	}
	opt, err := domain.ParseCadence(in.Cadence)
	if err != nil {
		v.Check(false, "cadence", err.Error())
	}
	v.Check(in.DurationMinutes >= 1 && in.DurationMinutes <= 24*60, "duration_minutes", "must be between 1 and 1440")
	v.Check(len(in.Format) <= 20, "format", "has more than 20 segments")
	for _, f := range in.Format {
		v.Check(strings.TrimSpace(f) != "" && len(f) <= 100, "format", "segments must be non-empty names of at most 100 characters")
	}
	for _, n := range in.Checkins {
		v.Check(n >= 1 && n <= in.Sessions, "checkins", "must be session numbers between 1 and sessions")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	slots, err := domain.PlanSlots(first, opt, in.Sessions, time.Duration(in.DurationMinutes)*time.Minute)
	if errors.Is(err, domain.ErrNotOccurrence) {
		return nil, apperr.Unprocessable("first_session_at", "is not an occurrence of cadence (e.g. not the second Tuesday)")
	}
	if err != nil {
		return nil, apperr.Unprocessable("cadence", err.Error())
	}
	format := []string{}
	for _, f := range in.Format {
		format = append(format, strings.TrimSpace(f))
	}
	checkins := slices.Compact(slices.Sorted(slices.Values(in.Checkins)))
	if checkins == nil {
		checkins = []int{}
	}
	p := &adapters.Program{
		ID: strings.ToLower(events.NewID()), CoPID: copID, Title: strings.TrimSpace(in.Title),
		Sessions: in.Sessions, FirstSessionAt: first.Format("2006-01-02T15:04:05"), Timezone: loc.String(),
		Cadence: strings.TrimPrefix(strings.TrimSpace(in.Cadence), "RRULE:"), DurationMinutes: in.DurationMinutes,
		Format: format, Checkins: checkins,
	}
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

// Reschedule is the input of RescheduleSession. StartsAt is either an instant (RFC 3339
// with offset) or a local date-time in the session's time zone.
type Reschedule struct {
	StartsAt        *string `json:"starts_at"`
	DurationMinutes *int    `json:"duration_minutes"`
	Topic           *string `json:"topic"`
	Location        *string `json:"location"`
	Link            *string `json:"link"`
}

// RescheduleSession moves a session or changes its topic, place or link.
func (a *Application) RescheduleSession(ctx context.Context, c httpx.Claims, id string, in Reschedule) (*domain.Session, error) {
	s, err := a.authorizeSession(ctx, c, id, "change this session")
	if err != nil {
		return nil, err
	}
	var v apperr.Validator
	var ch domain.Change
	v.Check(in.StartsAt != nil || in.DurationMinutes != nil || in.Topic != nil || in.Location != nil || in.Link != nil,
		"body", "must change at least one of starts_at, duration_minutes, topic, location, link")
	if in.StartsAt != nil {
		t, err := time.Parse(time.RFC3339, *in.StartsAt)
		if err != nil {
			loc, _ := domain.LoadZone(s.Timezone)
			if t, err = domain.ParseLocal(*in.StartsAt, loc); err != nil {
				v.Check(false, "starts_at", "must be RFC 3339 (2026-03-10T07:00:00Z) or a local date-time in the session's time zone (2026-03-10T18:00)")
			}
		}
		ch.StartsAt = &t
	}
	if in.DurationMinutes != nil {
		v.Check(*in.DurationMinutes >= 1 && *in.DurationMinutes <= 24*60, "duration_minutes", "must be between 1 and 1440")
		d := time.Duration(*in.DurationMinutes) * time.Minute
		ch.Duration = &d
	}
	text := func(field string, p *string, n int) {
		if p != nil {
			v.Check(len(*p) <= n && !strings.ContainsAny(*p, "\r\n"), field, "must be one line of at most "+strconv.Itoa(n)+" characters")
		}
	}
	text("topic", in.Topic, 200)
	text("location", in.Location, 500)
	text("link", in.Link, 2000)
	if in.Link != nil && *in.Link != "" {
		v.Check(strings.HasPrefix(*in.Link, "https://") || strings.HasPrefix(*in.Link, "http://"), "link", "must be an http(s) URL")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	ch.Topic, ch.Location, ch.Link = in.Topic, in.Location, in.Link
	return a.update(ctx, id, func(s *domain.Session) (events.Event, error) { return s.Reschedule(ch) })
}

// CancelSession calls a session off.
func (a *Application) CancelSession(ctx context.Context, c httpx.Claims, id, reason string) (*domain.Session, error) {
	if _, err := a.authorizeSession(ctx, c, id, "cancel this session"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" || len(reason) > 2000 {
		return nil, apperr.Invalid("reason", "is required (at most 2000 characters)")
	}
	return a.update(ctx, id, func(s *domain.Session) (events.Event, error) { return s.Cancel(strings.TrimSpace(reason)) })
}

func (a *Application) update(ctx context.Context, id string, fn func(*domain.Session) (events.Event, error)) (*domain.Session, error) {
	s, err := a.repo.UpdateSession(ctx, id, fn)
	return s, conflict(err)
}

// SetHosts hands a session to a named group of members, or back to the rotation.
func (a *Application) SetHosts(ctx context.Context, c httpx.Claims, id string, group []string) (*domain.Session, error) {
	if _, err := a.authorizeSession(ctx, c, id, "choose this session's hosts"); err != nil {
		return nil, err
	}
	var v apperr.Validator
	v.Check(len(group) <= 50, "host_group", "has more than 50 people")
	for _, p := range group {
		v.Check(p != "" && len(p) <= 64, "host_group", "must be person ids")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	clean := slices.Compact(slices.Sorted(slices.Values(group)))
	if clean == nil {
		clean = []string{}
	}
	return a.repo.SetHosts(ctx, id, clean)
}

// Rotation is the input of SetRotation.
type Rotation struct {
	Roles   []string `json:"roles"`
	Willing *bool    `json:"willing"`
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
	var v apperr.Validator
	v.Check(in.Willing != nil, "willing", "is required (true or false)")
	for _, r := range in.Roles {
		v.Check(slices.Contains(domain.Roles, domain.Role(r)), "roles", "must be facilitator or note_taker")
	}
	if err := v.Err(); err != nil {
		return w, err
	}
	roles := in.Roles
	if len(roles) == 0 {
		roles = []string{string(domain.Facilitator), string(domain.NoteTaker)}
	}
	w = adapters.Willingness{
		Facilitator: *in.Willing && slices.Contains(roles, string(domain.Facilitator)),
		NoteTaker:   *in.Willing && slices.Contains(roles, string(domain.NoteTaker)),
	}
	return w, a.repo.SetRotation(ctx, copID, person, w)
}

// Attendance statuses.
var attendanceStatuses = []string{"attended", "apologies", "absent"}

// RecordAttendance stores who attended a session (those who run the CoP).
func (a *Application) RecordAttendance(ctx context.Context, c httpx.Claims, id string, records []adapters.Record) (events.AttendanceRecorded, error) {
	if _, err := a.authorizeSession(ctx, c, id, "record attendance"); err != nil {
		return events.AttendanceRecorded{}, err
	}
	var v apperr.Validator
	v.Check(len(records) >= 1 && len(records) <= 1000, "body", "must list between 1 and 1000 attendance records")
	seen := map[string]bool{}
	for i, r := range records {
		field := "[" + strconv.Itoa(i) + "]"
		v.Check(r.PersonID != "" && len(r.PersonID) <= 64, field+".person_id", "is required (a person id)")
		v.Check(slices.Contains(attendanceStatuses, r.Status), field+".status", "must be attended, apologies or absent")
		v.Check(!seen[r.PersonID], field+".person_id", "appears twice")
		seen[r.PersonID] = true
	}
	if err := v.Err(); err != nil {
		return events.AttendanceRecorded{}, err
	}
	return a.repo.RecordAttendance(ctx, id, records)
}

// HoldSession records that a session took place.
func (a *Application) HoldSession(ctx context.Context, c httpx.Claims, id, notes string, outcomes []string) (*domain.Session, error) {
	if _, err := a.authorizeSession(ctx, c, id, "record this session as held"); err != nil {
		return nil, err
	}
	var v apperr.Validator
	v.Check(len(notes) <= 20_000, "notes", "is at most 20000 characters")
	v.Check(len(outcomes) <= 50, "outcomes", "has more than 50 outcomes")
	for _, o := range outcomes {
		v.Check(strings.TrimSpace(o) != "" && len(o) <= 1000, "outcomes", "must be non-empty, at most 1000 characters each")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if outcomes == nil {
		outcomes = []string{}
	}
	s, err := a.repo.Hold(ctx, id, notes, outcomes)
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

// CoPCalendar returns a CoP's sessions for its feed, to a bearer who may see them or to
// the holder of the CoP's secret feed key.
func (a *Application) CoPCalendar(ctx context.Context, c httpx.Claims, copID, key string) ([]*domain.Session, error) {
	if c.Role == "" && key != "" {
		if err := a.checkKey(ctx, adapters.FeedCoP, copID, key); err != nil {
			return nil, err
		}
	} else if _, err := a.authorizeSee(ctx, c, copID, "read this CoP's calendar"); err != nil {
		return nil, err
	}
	return a.repo.Sessions(ctx, copID, time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
}

// PersonCalendar returns the sessions of every CoP a person belongs to, to that person or
// to the holder of their secret feed key.
func (a *Application) PersonCalendar(ctx context.Context, c httpx.Claims, person, key string) ([]*domain.Session, error) {
	if c.Role == "" && key != "" {
		if err := a.checkKey(ctx, adapters.FeedPerson, person, key); err != nil {
			return nil, err
		}
	} else if err := httpx.Authorize(c, c.IsPerson(person), "read another person's calendar"); err != nil {
		return nil, err
	}
	return a.repo.PersonSessions(ctx, person)
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
