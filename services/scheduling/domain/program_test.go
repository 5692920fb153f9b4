package domain_test

import (
	"testing"
	"time"

	"github.com/copnet/copnet/services/scheduling/domain"
)

// planningNow is the clock of planning tests: every session they plan lies within the
// horizon from here.
var planningNow = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func plan(t *testing.T, zone, first, cadence string, n int) []domain.Slot {
	t.Helper()
	loc, err := domain.LoadZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	start, err := domain.ParseFloating(first)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := domain.ParseCadence(cadence)
	if err != nil {
		t.Fatal(err)
	}
	slots, err := domain.PlanSlots(start, loc, opt, n, 90*time.Minute, planningNow)
	if err != nil {
		t.Fatal(err)
	}
	return slots
}

// Melbourne leaves daylight saving on 5 April 2026 (UTC+11 → +10) and re-enters it on
// 4 October; Auckland leaves it on 5 April and re-enters it on 27 September (UTC+12 → +13).
// Every session must stay at the same wall-clock time while its UTC instant shifts.
func TestPlanSlotsKeepsWallClockAcrossDST(t *testing.T) {
	cases := []struct {
		name, zone, first, cadence string
		wantUTC                    []string
	}{
		{"Melbourne, second Tuesday monthly, across April's end of DST", "Australia/Melbourne",
			"2026-03-10T18:00", "FREQ=MONTHLY;BYDAY=2TU",
			[]string{"2026-03-10T07:00:00Z", "2026-04-14T08:00:00Z", "2026-05-12T08:00:00Z"}},
		{"Melbourne, weekly, across October's start of DST", "Australia/Melbourne",
			"2026-09-29T18:00", "RRULE:FREQ=WEEKLY;BYDAY=TU",
			[]string{"2026-09-29T08:00:00Z", "2026-10-06T07:00:00Z", "2026-10-13T07:00:00Z"}},
		{"Auckland, weekly, across September's start of DST", "Pacific/Auckland",
			"2026-09-15T19:00", "FREQ=WEEKLY;BYDAY=TU",
			[]string{"2026-09-15T07:00:00Z", "2026-09-22T07:00:00Z", "2026-09-29T06:00:00Z"}},
		{"Auckland, fortnightly, across April's end of DST", "Pacific/Auckland",
			"2026-03-26T12:30", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
			[]string{"2026-03-25T23:30:00Z", "2026-04-09T00:30:00Z", "2026-04-23T00:30:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			slots := plan(t, c.zone, c.first, c.cadence, len(c.wantUTC))
			wall := slots[0].StartsAt.Format("15:04")
			for i, s := range slots {
				if got := s.StartsAt.UTC().Format(time.RFC3339); got != c.wantUTC[i] {
					t.Errorf("session %d starts %s UTC, want %s", s.Number, got, c.wantUTC[i])
				}
				if got := s.StartsAt.Format("15:04"); got != wall {
					t.Errorf("session %d starts %s local, want %s", s.Number, got, wall)
				}
				if s.EndsAt.Sub(s.StartsAt) != 90*time.Minute {
					t.Errorf("session %d lasts %s", s.Number, s.EndsAt.Sub(s.StartsAt))
				}
			}
		})
	}
}

func TestPlanSlotsRefusesAFirstSessionOffTheCadence(t *testing.T) {
	loc, _ := domain.LoadZone("Australia/Melbourne")
	start, _ := domain.ParseFloating("2026-03-11T18:00") // a Wednesday
	opt, _ := domain.ParseCadence("FREQ=MONTHLY;BYDAY=2TU")
	if _, err := domain.PlanSlots(start, loc, opt, 3, time.Hour, planningNow); err != domain.ErrNotOccurrence {
		t.Fatalf("err = %v, want ErrNotOccurrence", err)
	}
}

func TestParseInputsRefuseWhatTheyCannotUse(t *testing.T) {
	for _, c := range []string{"", "FREQ=SOMETIMES", "BYDAY=TU", "FREQ=WEEKLY;COUNT=3", "FREQ=WEEKLY;UNTIL=20270101T000000Z", "FREQ=WEEKLY\nFREQ=DAILY"} {
		if _, err := domain.ParseCadence(c); err == nil {
			t.Errorf("cadence %q accepted", c)
		}
	}
	for _, z := range []string{"", "Local", "Mars/Olympus", "../etc/passwd"} {
		if _, err := domain.LoadZone(z); err == nil {
			t.Errorf("zone %q accepted", z)
		}
	}
	for _, s := range []string{"2026-03-10T18:00:00+11:00", "2026-03-10", "10/03/2026 18:00", "2026-03-10T18:00Z"} {
		if _, err := domain.ParseLocal(s, time.UTC); err == nil {
			t.Errorf("local time %q accepted", s)
		}
	}
}
