package app

// The bodies scheduling's routes accept, each with a check that needs no database: what a
// CoP can mean, decided before any transaction. Fuzz targets drive these with raw JSON.

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/services/scheduling/domain"
)

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

// programDraft is a NewProgram that passed its checks, with its sessions planned.
type programDraft struct {
	title, timezone, cadence, firstLocal string
	slots                                []domain.Slot
	format                               []string
	checkins                             []int
}

// oneLine reports text people type on one line: valid UTF-8 without control characters
// (a raw CR, LF or BEL would break an iCalendar line, and NUL is refused by PostgreSQL).
func oneLine(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// prose is multi-line text: as oneLine, but line breaks and tabs are allowed.
func prose(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
	}) < 0
}

// plan checks a program and plans its sessions, naming every offending field at once.
func (in NewProgram) plan(now time.Time) (*programDraft, error) {
	var v apperr.Validator
	v.Check(strings.TrimSpace(in.Title) != "" && len(in.Title) <= 200 && oneLine(in.Title), "title",
		"is required: one line of at most 200 characters")
	v.Check(in.Sessions >= 1 && in.Sessions <= domain.MaxSessions, "sessions", "must be between 1 and 100")
	loc, err := domain.LoadZone(in.Timezone)
	if err != nil {
		v.Check(false, "timezone", err.Error())
	}
	// The first session's form is checked even when the zone is wrong, so that one answer
	// names both problems.
	first, err := domain.ParseFloating(in.FirstSessionAt)
	if err != nil {
		v.Check(false, "first_session_at", err.Error())
	} else if loc != nil {
		if err := domain.CheckWhen(domain.ResolveLocal(first, loc), now); err != nil {
			v.Check(false, "first_session_at", err.Error())
		}
	}
	opt, err := domain.ParseCadence(in.Cadence)
	if err != nil {
		v.Check(false, "cadence", err.Error())
	}
	v.Check(in.DurationMinutes >= 1 && in.DurationMinutes <= 24*60, "duration_minutes", "must be between 1 and 1440")
	v.Check(len(in.Format) <= 20, "format", "has more than 20 segments")
	for _, f := range in.Format {
		v.Check(strings.TrimSpace(f) != "" && len(f) <= 100 && oneLine(f), "format", "segments must be non-empty names of at most 100 characters on one line")
	}
	v.Check(len(in.Checkins) <= domain.MaxSessions, "checkins", "lists more than 100 sessions")
	for _, n := range in.Checkins {
		v.Check(n >= 1 && n <= in.Sessions, "checkins", "must be session numbers between 1 and sessions")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	slots, err := domain.PlanSlots(first, loc, opt, in.Sessions, time.Duration(in.DurationMinutes)*time.Minute, now)
	switch {
	case errors.Is(err, domain.ErrNotOccurrence):
		return nil, apperr.Unprocessable("first_session_at", "is not an occurrence of cadence (e.g. not the second Tuesday)")
	case errors.Is(err, domain.ErrOutsideYears):
		return nil, apperr.Invalid("cadence", err.Error())
	case err != nil:
		return nil, apperr.Unprocessable("cadence", err.Error())
	}
	d := &programDraft{
		title: strings.TrimSpace(in.Title), timezone: loc.String(), slots: slots,
		cadence: strings.TrimPrefix(strings.TrimSpace(in.Cadence), "RRULE:"), firstLocal: first.Format("2006-01-02T15:04:05"),
		format: []string{}, checkins: slices.Compact(slices.Sorted(slices.Values(in.Checkins))),
	}
	for _, f := range in.Format {
		d.format = append(d.format, strings.TrimSpace(f))
	}
	if d.checkins == nil {
		d.checkins = []int{}
	}
	return d, nil
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

// change checks a reschedule of a session in zone and turns it into a domain change. A
// local starts_at is resolved as planning resolves it (domain.ResolveLocal).
func (in Reschedule) change(zone string, now time.Time) (domain.Change, error) {
	var v apperr.Validator
	var ch domain.Change
	v.Check(in.StartsAt != nil || in.DurationMinutes != nil || in.Topic != nil || in.Location != nil || in.Link != nil,
		"body", "must change at least one of starts_at, duration_minutes, topic, location, link")
	if in.StartsAt != nil {
		t, err := time.Parse(time.RFC3339, *in.StartsAt)
		if err != nil {
			loc, zerr := domain.LoadZone(zone)
			if zerr != nil {
				loc = time.UTC
			}
			t, err = domain.ParseLocal(*in.StartsAt, loc)
		}
		if err != nil {
			v.Check(false, "starts_at", "must be RFC 3339 (2026-03-10T07:00:00Z) or a local date-time in the session's time zone (2026-03-10T18:00)")
		} else if err := domain.CheckWhen(t, now); err != nil {
			v.Check(false, "starts_at", err.Error())
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
			v.Check(len(*p) <= n && oneLine(*p), field, "must be one line of at most "+strconv.Itoa(n)+" characters, without control characters")
		}
	}
	text("topic", in.Topic, 200)
	text("location", in.Location, 500)
	text("link", in.Link, 2000)
	if in.Link != nil && *in.Link != "" {
		v.Check(strings.HasPrefix(*in.Link, "https://") || strings.HasPrefix(*in.Link, "http://"), "link", "must be an http(s) URL")
	}
	if err := v.Err(); err != nil {
		return domain.Change{}, err
	}
	ch.Topic, ch.Location, ch.Link = in.Topic, in.Location, in.Link
	return ch, nil
}

// Cancellation is the input of CancelSession.
type Cancellation struct {
	Reason string `json:"reason"`
}

func (in Cancellation) reason() (string, error) {
	r := strings.TrimSpace(in.Reason)
	if r == "" || len(in.Reason) > 2000 || !prose(in.Reason) {
		return "", apperr.Invalid("reason", "is required (at most 2000 characters, without control characters)")
	}
	return r, nil
}

// Hosts is the input of SetHosts: a named group of members, or none for the rotation.
type Hosts struct {
	HostGroup []string `json:"host_group"`
}

// personID reports a well-formed person id.
func personID(p string) bool { return p != "" && len(p) <= 64 && oneLine(p) }

func (in Hosts) group() ([]string, error) {
	var v apperr.Validator
	v.Check(len(in.HostGroup) <= 50, "host_group", "has more than 50 people")
	for _, p := range in.HostGroup {
		v.Check(personID(p), "host_group", "must be person ids")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	clean := slices.Compact(slices.Sorted(slices.Values(in.HostGroup)))
	if clean == nil {
		clean = []string{}
	}
	return clean, nil
}

// Rotation is the input of SetRotation.
type Rotation struct {
	Roles   []string `json:"roles"`
	Willing *bool    `json:"willing"`
}

// willingness checks a rotation opt-in; roles omitted means both.
func (in Rotation) willingness() (domain.Willingness, error) {
	var v apperr.Validator
	v.Check(in.Willing != nil, "willing", "is required (true or false)")
	v.Check(len(in.Roles) <= len(domain.Roles)*2, "roles", "lists too many roles")
	for _, r := range in.Roles {
		v.Check(slices.Contains(domain.Roles, domain.Role(r)), "roles", "must be facilitator or note_taker")
	}
	if err := v.Err(); err != nil {
		return domain.Willingness{}, err
	}
	roles := in.Roles
	if len(roles) == 0 {
		roles = []string{string(domain.Facilitator), string(domain.NoteTaker)}
	}
	return domain.Willingness{
		Facilitator: *in.Willing && slices.Contains(roles, string(domain.Facilitator)),
		NoteTaker:   *in.Willing && slices.Contains(roles, string(domain.NoteTaker)),
	}, nil
}

// Record is one person's attendance, the input of RecordAttendance.
type Record struct {
	PersonID string `json:"person_id"`
	Status   string `json:"status"`
}

// Attendance statuses.
var attendanceStatuses = []string{"attended", "apologies", "absent"}

// checkRecords checks an attendance list: one record per person, known statuses.
func checkRecords(records []Record) error {
	var v apperr.Validator
	v.Check(len(records) >= 1 && len(records) <= 1000, "body", "must list between 1 and 1000 attendance records")
	seen := map[string]bool{}
	for i, r := range records {
		field := "[" + strconv.Itoa(i) + "]"
		v.Check(personID(r.PersonID), field+".person_id", "is required (a person id)")
		v.Check(slices.Contains(attendanceStatuses, r.Status), field+".status", "must be attended, apologies or absent")
		v.Check(!seen[r.PersonID], field+".person_id", "appears twice")
		seen[r.PersonID] = true
	}
	return v.Err()
}

// Holding is the input of HoldSession: what happened at the session.
type Holding struct {
	Notes    string   `json:"notes"`
	Outcomes []string `json:"outcomes"`
}

func (in Holding) check() (Holding, error) {
	var v apperr.Validator
	v.Check(len(in.Notes) <= 20_000 && prose(in.Notes), "notes", "is at most 20000 characters, without control characters")
	v.Check(len(in.Outcomes) <= 50, "outcomes", "has more than 50 outcomes")
	for _, o := range in.Outcomes {
		v.Check(strings.TrimSpace(o) != "" && len(o) <= 1000 && prose(o), "outcomes", "must be non-empty, at most 1000 characters each, without control characters")
	}
	if err := v.Err(); err != nil {
		return in, err
	}
	if in.Outcomes == nil {
		in.Outcomes = []string{}
	}
	return in, nil
}
