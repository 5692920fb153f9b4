package domain

import (
	"errors"
	"fmt"
	"time"
)

// Earliest is the first instant a session may take place at: copnet records the network's
// own programs, and nothing it runs predates 2000, so an earlier year is a typing mistake
// (1900 for 2026), not history.
var Earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// HorizonYears is how far ahead a session may be planned: a CoP plans seasons, not
// decades, and the bound keeps every computed end time far from year 10000, where RFC 3339
// and PostgreSQL stop.
const HorizonYears = 10

// Horizon is the last instant a session may start at, seen from now.
func Horizon(now time.Time) time.Time { return now.UTC().AddDate(HorizonYears, 0, 0) }

// CheckWhen reports a session start a CoP cannot mean: before Earliest or beyond the
// horizon.
func CheckWhen(t, now time.Time) error {
	if t.Before(Earliest) {
		return fmt.Errorf("must not be before %s", Earliest.Format(time.DateOnly))
	}
	if t.After(Horizon(now)) {
		return fmt.Errorf("must be within %d years from now (before %s)", HorizonYears, Horizon(now).Format(time.DateOnly))
	}
	return nil
}

// ResolveLocal is the instant at which the wall clock in loc shows wall's date and time
// (wall's own zone is ignored: only its fields are read). time.Date leaves two cases to
// chance, and RFC 5545 section 3.3.5 settles both:
//   - a local time that happens twice (the hour repeated when daylight saving ends) is its
//     FIRST occurrence, still on the daylight-saving offset;
//   - a local time that never happens (the hour skipped when daylight saving starts) is
//     read with the offset before the gap, so it moves forward by the gap: 02:30 becomes
//     03:30 where clocks jump from 02:00 to 03:00.
//
// Planning and rescheduling both resolve local times here, so a session means the same
// instant however it was entered.
func ResolveLocal(wall time.Time, loc *time.Location) time.Time {
	y, mo, d := wall.Date()
	h, mi, s := wall.Clock()
	floating := time.Date(y, mo, d, h, mi, s, wall.Nanosecond(), time.UTC)
	// The offsets in force a day either side of the wall time: a transition between them
	// is what makes the time repeated or skipped. Zones do not change offset twice in
	// two days.
	_, before := floating.Add(-24 * time.Hour).In(loc).Zone()
	_, after := floating.Add(24 * time.Hour).In(loc).Zone()
	var first time.Time
	for _, offset := range []int{before, after} {
		t := floating.Add(-time.Duration(offset) * time.Second)
		if !sameWall(t.In(loc), floating) {
			continue
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	if !first.IsZero() {
		return first.In(loc)
	}
	// In a gap: the offset before the gap reads the wall time as the instant after it.
	return floating.Add(-time.Duration(before) * time.Second).In(loc)
}

func sameWall(t, floating time.Time) bool {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	fy, fmo, fd := floating.Date()
	fh, fmi, fs := floating.Clock()
	return y == fy && mo == fmo && d == fd && h == fh && mi == fmi && s == fs
}

// localLayouts are the accepted forms of a local date-time: no offset, because the offset
// follows from the time zone and changes with daylight saving.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04"}

// errLocalForm is the answer to a local date-time in the wrong form.
var errLocalForm = errors.New("must be a local date-time without offset, like 2026-03-10T18:00")

// ParseFloating reads a local date-time (2026-03-10T18:00) as wall-clock fields, carried
// in a UTC time that stands for no instant until ResolveLocal places it in a zone.
func ParseFloating(s string) (time.Time, error) {
	for _, layout := range localLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errLocalForm
}

// ParseLocal reads a local date-time (2026-03-10T18:00) as wall-clock time in loc,
// resolving repeated and skipped times as ResolveLocal does.
func ParseLocal(s string, loc *time.Location) (time.Time, error) {
	t, err := ParseFloating(s)
	if err != nil {
		return time.Time{}, err
	}
	return ResolveLocal(t, loc), nil
}
