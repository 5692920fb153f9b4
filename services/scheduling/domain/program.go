// Package domain holds scheduling's rules: how a program's cadence becomes sessions in the
// CoP's own time zone, what may happen to a session, how facilitation and note-taking rotate
// fairly, and when participation counts as declining.
package domain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// MaxSessions bounds one program; a CoP plans a season, not a decade.
const MaxSessions = 100

// LoadZone resolves an IANA time zone name. "Local" and "" are refused: they mean whatever
// zone the server happens to run in, not the CoP's.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, errors.New("must be an IANA time zone such as Australia/Melbourne")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errors.New("must be an IANA time zone such as Australia/Melbourne")
	}
	return loc, nil
}

// maxInterval is, per frequency, the largest INTERVAL a CoP can mean: at most a year
// between sessions.
var maxInterval = map[rrule.Frequency]int{rrule.YEARLY: 1, rrule.MONTHLY: 12, rrule.WEEKLY: 52, rrule.DAILY: 366}

// cadenceParts are the RRULE parts a CoP's cadence may use. The rest are refused:
// COUNT, UNTIL and DTSTART because sessions and first_session_at decide them; BYHOUR,
// BYMINUTE and BYSECOND because first_session_at sets the time of day (they would make a
// program of many sessions a day); BYYEARDAY, BYWEEKNO and BYEASTER because no CoP meets by
// them, and they make rules whose expansion searches millennia for a date that never comes.
var cadenceParts = map[string]bool{"FREQ": true, "INTERVAL": true, "BYDAY": true, "BYMONTHDAY": true,
	"BYMONTH": true, "BYSETPOS": true, "WKST": true}

// ParseCadence reads an RFC 5545 RRULE (with or without the "RRULE:" prefix), refusing
// what a CoP's cadence cannot mean: more often than daily, an INTERVAL of 0 or of more than
// a year, and parts that sessions and first_session_at decide.
func ParseCadence(cadence string) (*rrule.ROption, error) {
	s := strings.TrimPrefix(strings.TrimSpace(cadence), "RRULE:")
	if s == "" || len(s) > 200 || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return nil, errors.New("must be an RFC 5545 RRULE such as FREQ=MONTHLY;BYDAY=2TU")
	}
	seen := map[string]bool{}
	interval := 1
	for _, part := range strings.Split(s, ";") {
		key, value, _ := strings.Cut(part, "=")
		key = strings.ToUpper(key)
		switch {
		case key == "COUNT" || key == "UNTIL" || key == "DTSTART":
			return nil, fmt.Errorf("must not set %s: sessions and first_session_at decide it", key)
		case key == "BYHOUR" || key == "BYMINUTE" || key == "BYSECOND":
			return nil, fmt.Errorf("must not set %s: first_session_at sets the time of day", key)
		case !cadenceParts[key]:
			return nil, fmt.Errorf("must not set %q: a cadence uses FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS and WKST", key)
		case seen[key]:
			return nil, fmt.Errorf("sets %s twice", key)
		case key == "INTERVAL":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return nil, errors.New("must have an INTERVAL of at least 1")
			}
			interval = n
		}
		seen[key] = true
	}
	if !seen["FREQ"] {
		return nil, errors.New("must set FREQ, e.g. FREQ=WEEKLY")
	}
	opt, err := rrule.StrToROption(s)
	if err != nil {
		return nil, fmt.Errorf("is not an RFC 5545 RRULE: %v", err)
	}
	most, ok := maxInterval[opt.Freq]
	if !ok {
		return nil, fmt.Errorf("must not be FREQ=%s: a CoP meets at most daily (DAILY, WEEKLY, MONTHLY or YEARLY)", opt.Freq)
	}
	if interval > most {
		return nil, fmt.Errorf("must have an INTERVAL between 1 and %d with FREQ=%s: at most a year between sessions", most, opt.Freq)
	}
	// Only the periods of a month or a year hold enough days to pick among; with shorter
	// ones BYSETPOS and day-of-month filters make rules that may never match.
	if opt.Freq == rrule.DAILY && (seen["BYSETPOS"] || seen["BYMONTHDAY"] || seen["BYMONTH"]) ||
		opt.Freq == rrule.WEEKLY && seen["BYSETPOS"] {
		return nil, fmt.Errorf("must not combine FREQ=%s with BYSETPOS, or FREQ=DAILY with BYMONTH or BYMONTHDAY", opt.Freq)
	}
	if _, err := rrule.NewRRule(*opt); err != nil {
		return nil, fmt.Errorf("is not a usable RRULE: %v", err)
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

// ErrOutsideYears means the program puts sessions outside the years a CoP plans in
// (CheckWhen).
var ErrOutsideYears = errors.New("puts sessions outside the years a CoP plans in")

// PlanSlots expands cadence from first (wall-clock fields, as ParseFloating reads them) into
// n sessions of the given length in loc. The rule is expanded on the wall clock, not on
// instants, so a 6 pm session stays at 6 pm on both sides of a daylight-saving change, and
// each occurrence is then placed in loc by ResolveLocal. Every session must start within
// CheckWhen's bounds, seen from now.
func PlanSlots(first time.Time, loc *time.Location, opt *rrule.ROption, n int, length time.Duration, now time.Time) ([]Slot, error) {
	y, mo, d := first.Date()
	h, mi, sec := first.Clock()
	floating := time.Date(y, mo, d, h, mi, sec, 0, time.UTC)
	// Checked before expanding: the RRULE library panics on some years (year 0), and no
	// expansion should start from a time a CoP cannot mean.
	if err := CheckWhen(ResolveLocal(floating, loc), now); err != nil {
		return nil, fmt.Errorf("%w: the first session %v", ErrOutsideYears, err)
	}
	o := *opt
	o.Dtstart = floating
	o.Count = n
	// Until stops the expansion at the horizon, however sparse the rule.
	horizon := Horizon(now)
	o.Until = time.Date(horizon.Year(), horizon.Month(), horizon.Day(), 23, 59, 59, 0, time.UTC)
	rule, err := rrule.NewRRule(o)
	if err != nil {
		return nil, fmt.Errorf("is not a usable RRULE: %v", err)
	}
	starts := rule.All()
	if len(starts) == 0 || !starts[0].Equal(floating) {
		return nil, ErrNotOccurrence
	}
	if len(starts) < n {
		return nil, fmt.Errorf("%w: it yields only %d sessions within %d years, not %d", ErrOutsideYears, len(starts), HorizonYears, n)
	}
	slots := make([]Slot, n)
	for i, s := range starts {
		at := ResolveLocal(s, loc)
		if err := CheckWhen(at, now); err != nil {
			return nil, fmt.Errorf("%w: session %d at %s %v", ErrOutsideYears, i+1, at.Format(time.RFC3339), err)
		}
		// Wall-clock length: a 90-minute session across a DST change still ends 90 minutes
		// of the attendees' time later, which Add on an absolute instant gives.
		slots[i] = Slot{Number: i + 1, StartsAt: at, EndsAt: at.Add(length)}
	}
	return slots, nil
}
