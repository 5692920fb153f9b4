package domain_test

import (
	"testing"
	"time"

	"github.com/copnet/copnet/services/scheduling/domain"
)

// fuzzZones are zones with the shapes of offset change there are: hour-long DST both
// ways of the equator, Lord Howe's half hour, none at all, India's half-hour offset,
// Newfoundland's, and Samoa's skipped day (30 December 2011).
var fuzzZones = []string{"Australia/Melbourne", "Pacific/Auckland", "Australia/Lord_Howe", "America/New_York",
	"Europe/London", "Asia/Kolkata", "America/St_Johns", "Pacific/Apia", "UTC", "Australia/Brisbane"}

// FuzzResolveLocal checks ResolveLocal against a search independent of it: every instant
// within ±14 hours of the wall time read as UTC, at quarter-hour offsets, whose wall clock
// in the zone shows the wall time. If there is one, the answer is the earliest; if there
// is none (a gap), the answer lies after the wall time, within the gap.
func FuzzResolveLocal(f *testing.F) {
	f.Add(uint8(0), int64(time.Date(2027, 4, 4, 2, 30, 0, 0, time.UTC).Unix()))
	f.Add(uint8(0), int64(time.Date(2027, 10, 3, 2, 30, 0, 0, time.UTC).Unix()))
	f.Add(uint8(1), int64(time.Date(2027, 4, 4, 2, 30, 0, 0, time.UTC).Unix()))
	f.Add(uint8(1), int64(time.Date(2027, 9, 26, 2, 30, 0, 0, time.UTC).Unix()))
	f.Add(uint8(2), int64(time.Date(2027, 4, 4, 1, 45, 0, 0, time.UTC).Unix()))
	f.Add(uint8(3), int64(time.Date(2027, 3, 14, 2, 30, 0, 0, time.UTC).Unix()))
	f.Add(uint8(7), int64(time.Date(2011, 12, 30, 12, 0, 0, 0, time.UTC).Unix()))
	f.Add(uint8(8), int64(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix()))
	f.Fuzz(func(t *testing.T, zone uint8, unix int64) {
		loc, err := domain.LoadZone(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Fatal(err)
		}
		// Wall times from 1990 to 2050 at whole minutes: the span a CoP plans in, and
		// beyond it the tz data only repeats its last rule.
		const from, span = 631152000, 60 * 365 * 24 * 3600
		floating := time.Unix(from+(unix%span+span)%span/60*60, 0).UTC()
		got := domain.ResolveLocal(floating, loc)
		var earliest time.Time
		for q := -14 * 4; q <= 14*4; q++ {
			at := floating.Add(-time.Duration(q) * 15 * time.Minute)
			if wall(at.In(loc)) == wall(floating) && (earliest.IsZero() || at.Before(earliest)) {
				earliest = at
			}
		}
		if !earliest.IsZero() {
			if !got.Equal(earliest) {
				t.Fatalf("%s in %s → %s, want the first occurrence %s", wall(floating), loc, got.UTC(), earliest.UTC())
			}
			return
		}
		// A gap: the answer reads the wall time with the offset before the gap, so its own
		// wall clock is the wall time moved forward by the gap.
		shown := got.In(loc)
		gap := time.Duration(offset(got)-offset(floating.Add(-38*time.Hour).In(loc))) * time.Second
		moved, _ := time.Parse("2006-01-02T15:04:05", wall(shown))
		if gap <= 0 || moved.Sub(floating) != gap {
			t.Fatalf("%s in %s is skipped; got %s (%s), want it moved forward by the gap (%s)", wall(floating), loc, got.UTC(), shown, gap)
		}
	})
}

func wall(t time.Time) string { return t.Format("2006-01-02T15:04:05") }

func offset(t time.Time) int {
	_, o := t.Zone()
	return o
}

// FuzzCadence checks that any RRULE ParseCadence accepts plans sessions inside the
// horizon, in order, from a first session on the cadence, and never panics.
func FuzzCadence(f *testing.F) {
	for _, c := range []string{"FREQ=MONTHLY;BYDAY=2TU", "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "FREQ=WEEKLY;INTERVAL=0",
		"FREQ=SECONDLY", "FREQ=DAILY;INTERVAL=366", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=MONTHLY;BYMONTHDAY=31",
		"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=MONTHLY;BYDAY=5MO",
		"FREQ=WEEKLY;COUNT=1000000", "FREQ=WEEKLY;WKST=SU;BYDAY=SU,MO", "FREQ=MONTHLY;BYDAY=-1FR;BYMONTH=1,7"} {
		f.Add(c, "2026-03-10T18:00", uint8(7))
	}
	f.Add("FREQ=WEEKLY;BYDAY=SU", "2027-03-28T02:30", uint8(3))
	f.Add("FREQ=YEARLY", "2026-03-03T18:00", uint8(100))
	f.Fuzz(func(t *testing.T, cadence, first string, n uint8) {
		opt, err := domain.ParseCadence(cadence)
		if err != nil {
			return
		}
		start, err := domain.ParseFloating(first)
		if err != nil {
			return
		}
		loc, _ := domain.LoadZone("Australia/Melbourne")
		sessions := int(n)%domain.MaxSessions + 1
		slots, err := domain.PlanSlots(start, loc, opt, sessions, time.Hour, planningNow)
		if err != nil {
			return
		}
		if len(slots) != sessions {
			t.Fatalf("%d slots, want %d", len(slots), sessions)
		}
		for i, s := range slots {
			if err := domain.CheckWhen(s.StartsAt, planningNow); err != nil {
				t.Fatalf("%s from %s: session %d at %s: %v", cadence, first, i+1, s.StartsAt, err)
			}
			if i > 0 && !s.StartsAt.After(slots[i-1].StartsAt) {
				t.Fatalf("%s from %s: session %d at %s, not after %s", cadence, first, i+1, s.StartsAt, slots[i-1].StartsAt)
			}
		}
	})
}
