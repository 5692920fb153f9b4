package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/services/scheduling/domain"
)

// The DST edges of 2027, as the tz database has them (zdump -v -c 2027,2028):
//   - Melbourne leaves daylight saving at 03:00 AEDT on Sun 4 April (16:00Z on the 3rd),
//     so 02:00–02:59 happens twice; it enters it at 02:00 AEST on Sun 3 October (16:00Z on
//     the 2nd), so 02:00–02:59 never happens.
//   - Auckland leaves it at 03:00 NZDT on Sun 4 April (14:00Z on the 3rd) and enters it at
//     02:00 NZST on Sun 26 September (14:00Z on the 25th).
//
// RFC 5545 section 3.3.5: a repeated time is its first occurrence; a skipped time is read
// with the offset before the gap.
var dstEdges = []struct {
	name, zone, local, wantUTC, wantLocal string
}{
	{"Melbourne, repeated 02:30 is the first (AEDT)", "Australia/Melbourne", "2027-04-04T02:30", "2027-04-03T15:30:00Z", "2027-04-04T02:30:00+11:00"},
	{"Melbourne, skipped 02:30 moves to 03:30 AEDT", "Australia/Melbourne", "2027-10-03T02:30", "2027-10-02T16:30:00Z", "2027-10-03T03:30:00+11:00"},
	{"Auckland, repeated 02:30 is the first (NZDT)", "Pacific/Auckland", "2027-04-04T02:30", "2027-04-03T13:30:00Z", "2027-04-04T02:30:00+13:00"},
	{"Auckland, skipped 02:30 moves to 03:30 NZDT", "Pacific/Auckland", "2027-09-26T02:30", "2027-09-25T14:30:00Z", "2027-09-26T03:30:00+13:00"},
	{"Melbourne, the last minute before the repeat", "Australia/Melbourne", "2027-04-04T01:59", "2027-04-03T14:59:00Z", "2027-04-04T01:59:00+11:00"},
	{"Melbourne, the first minute after the repeat", "Australia/Melbourne", "2027-04-04T03:00", "2027-04-03T17:00:00Z", "2027-04-04T03:00:00+10:00"},
	{"Melbourne, an ordinary evening", "Australia/Melbourne", "2027-06-08T18:00", "2027-06-08T08:00:00Z", "2027-06-08T18:00:00+10:00"},
	{"Auckland, just after the gap", "Pacific/Auckland", "2027-09-26T03:00", "2027-09-25T14:00:00Z", "2027-09-26T03:00:00+13:00"},
}

func TestParseLocalResolvesRepeatedAndSkippedTimesPerRFC5545(t *testing.T) {
	for _, c := range dstEdges {
		t.Run(c.name, func(t *testing.T) {
			loc, err := domain.LoadZone(c.zone)
			if err != nil {
				t.Fatal(err)
			}
			got, err := domain.ParseLocal(c.local, loc)
			if err != nil {
				t.Fatal(err)
			}
			if u := got.UTC().Format(time.RFC3339); u != c.wantUTC {
				t.Errorf("%s in %s → %s, want %s", c.local, c.zone, u, c.wantUTC)
			}
			if l := got.Format(time.RFC3339); l != c.wantLocal {
				t.Errorf("%s in %s shows as %s, want %s", c.local, c.zone, l, c.wantLocal)
			}
		})
	}
}

// A weekly Sunday 02:30 program runs into both edges: planning resolves every occurrence,
// not only the first, and later sessions keep 02:30 once it exists again.
func TestPlanSlotsResolvesEveryOccurrenceOnADSTEdge(t *testing.T) {
	cases := []struct {
		zone, first string
		wantUTC     []string
	}{
		{"Australia/Melbourne", "2027-03-28T02:30", []string{"2027-03-27T15:30:00Z", "2027-04-03T15:30:00Z", "2027-04-10T16:30:00Z"}},
		{"Australia/Melbourne", "2027-09-26T02:30", []string{"2027-09-25T16:30:00Z", "2027-10-02T16:30:00Z", "2027-10-09T15:30:00Z"}},
		{"Pacific/Auckland", "2027-03-28T02:30", []string{"2027-03-27T13:30:00Z", "2027-04-03T13:30:00Z", "2027-04-10T14:30:00Z"}},
		{"Pacific/Auckland", "2027-09-19T02:30", []string{"2027-09-18T14:30:00Z", "2027-09-25T14:30:00Z", "2027-10-02T13:30:00Z"}},
	}
	for _, c := range cases {
		slots := plan(t, c.zone, c.first, "FREQ=WEEKLY;BYDAY=SU", len(c.wantUTC))
		for i, s := range slots {
			if got := s.StartsAt.UTC().Format(time.RFC3339); got != c.wantUTC[i] {
				t.Errorf("%s from %s: session %d at %s, want %s", c.zone, c.first, s.Number, got, c.wantUTC[i])
			}
		}
	}
}

func TestCadenceRefusesWhatACoPCannotMean(t *testing.T) {
	for _, c := range []string{
		"FREQ=WEEKLY;INTERVAL=0", "FREQ=WEEKLY;INTERVAL=-1", "FREQ=WEEKLY;INTERVAL=x", "FREQ=WEEKLY;INTERVAL=53",
		"FREQ=YEARLY;INTERVAL=2", "FREQ=SECONDLY", "FREQ=MINUTELY", "FREQ=HOURLY", "FREQ=WEEKLY;COUNT=1000000000",
		"FREQ=DAILY;BYHOUR=1,2,3", "FREQ=WEEKLY;BYMINUTE=5", "FREQ=WEEKLY;FREQ=DAILY", "FREQ=YEARLY;BYYEARDAY=366",
		"FREQ=YEARLY;BYWEEKNO=53", "FREQ=DAILY;BYSETPOS=2", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2", "FREQ=WEEKLY;X-NAME=1", "FREQ=WEEKLY;BYDAY=TU\x07", strings.Repeat("FREQ=WEEKLY;", 30),
	} {
		if _, err := domain.ParseCadence(c); err == nil {
			t.Errorf("cadence %q accepted", c)
		}
	}
	for _, c := range []string{"FREQ=MONTHLY;BYDAY=2TU", "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "FREQ=DAILY;INTERVAL=366",
		"FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=-1", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"} {
		if _, err := domain.ParseCadence(c); err != nil {
			t.Errorf("cadence %q refused: %v", c, err)
		}
	}
}

// A rule that can never match again ends at the horizon instead of searching to year 9999,
// and a program cannot run past the horizon.
func TestPlanSlotsStopsAtTheHorizon(t *testing.T) {
	loc, _ := domain.LoadZone("Australia/Melbourne")
	first, _ := domain.ParseFloating("2028-02-29T18:00")
	opt, err := domain.ParseCadence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := domain.PlanSlots(first, loc, opt, 10, time.Hour, planningNow); !errors.Is(err, domain.ErrOutsideYears) {
		t.Errorf("ten leap days from 2028: err = %v, want ErrOutsideYears", err)
	}
	if slots, err := domain.PlanSlots(first, loc, opt, 2, time.Hour, planningNow); err != nil || len(slots) != 2 {
		t.Errorf("two leap days from 2028: %v %v", slots, err)
	}
}

func TestCheckWhenBoundsSessionsToWhatACoPPlans(t *testing.T) {
	now := planningNow
	for _, at := range []time.Time{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1999, 12, 31, 23, 59, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), now.AddDate(10, 0, 1)} {
		if err := domain.CheckWhen(at, now); err == nil {
			t.Errorf("%s accepted", at)
		}
	}
	for _, at := range []time.Time{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), now, now.AddDate(9, 11, 0)} {
		if err := domain.CheckWhen(at, now); err != nil {
			t.Errorf("%s refused: %v", at, err)
		}
	}
}
