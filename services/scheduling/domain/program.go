// Package domain holds scheduling's rules: how a program's cadence becomes sessions in the
// CoP's own time zone, what may happen to a session, how facilitation and note-taking rotate
// fairly, and when participation counts as declining.
package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// MaxSessions bounds one program; a CoP plans a season, not a decade.
const MaxSessions = 100

// localLayouts are the accepted forms of a local date-time: no offset, because the offset
// follows from the time zone and changes with daylight saving.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04"}

// ParseLocal reads a local date-time (2026-03-10T18:00) as wall-clock time in loc.
func ParseLocal(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("must be a local date-time without offset, like 2026-03-10T18:00")
}

// LoadZone resolves an IANA time zone name. "Local" and "" are refused: they mean whatever
// zone the server happens to run in, not the CoP's.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, errors.New("must be an IANA time zone such as Australia/Melbourne")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errors.New("must be an IANA time zone such as Australia/Melbourne")
	}
	return loc, nil
}

// ParseCadence reads an RFC 5545 RRULE (with or without the "RRULE:" prefix). COUNT,
// UNTIL and DTSTART are refused: the program's session count and first session set them.
func ParseCadence(cadence string) (*rrule.ROption, error) {
	s := strings.TrimPrefix(strings.TrimSpace(cadence), "RRULE:")
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("must be an RFC 5545 RRULE such as FREQ=MONTHLY;BYDAY=2TU")
	}
	for _, part := range strings.Split(s, ";") {
		key, _, _ := strings.Cut(part, "=")
		switch strings.ToUpper(key) {
		case "COUNT", "UNTIL", "DTSTART":
			return nil, fmt.Errorf("must not set %s: sessions and first_session_at decide it", strings.ToUpper(key))
		}
	}
	opt, err := rrule.StrToROption(s)
	if err != nil {
		return nil, fmt.Errorf("is not an RFC 5545 RRULE: %v", err)
	}
	return opt, nil
}

// Slot is when one session of a program takes place.
type Slot struct {
	Number   int
	StartsAt time.Time // in the program's zone; callers store it as UTC
	EndsAt   time.Time
}

// ErrNotOccurrence means the first session does not fall on the cadence.
var ErrNotOccurrence = errors.New("is not an occurrence of cadence")

// PlanSlots expands cadence from first (a wall-clock time in its zone) into n sessions of
// the given length. The rule is expanded in the CoP's zone, not in UTC, so a 6 pm session
// stays at 6 pm on both sides of a daylight-saving change.
func PlanSlots(first time.Time, opt *rrule.ROption, n int, length time.Duration) ([]Slot, error) {
	o := *opt
	o.Dtstart = first
	o.Count = n
	rule, err := rrule.NewRRule(o)
	if err != nil {
		return nil, fmt.Errorf("is not a usable RRULE: %v", err)
	}
	starts := rule.All()
	if len(starts) == 0 || !starts[0].Equal(first) {
		return nil, ErrNotOccurrence
	}
	if len(starts) < n {
		return nil, fmt.Errorf("yields only %d sessions, not %d", len(starts), n)
	}
	slots := make([]Slot, n)
	for i, s := range starts {
		// Wall-clock length: a 90-minute session across a DST change still ends 90 minutes
		// of the attendees' time later, which Add on an absolute instant gives.
		slots[i] = Slot{Number: i + 1, StartsAt: s, EndsAt: s.Add(length)}
	}
	return slots, nil
}
