package ports

// Fuzz targets for the program planner's, the session page's and the attendance sheet's
// forms, and the words the planner says a program back in.

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// invalidFields fails unless err is an invalid-input error naming fields.
func invalidFields(t *testing.T, err error) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 {
		t.Fatalf("want an invalid-input error naming fields, got %v", err)
	}
}

func TestProgramFormBuildsTheRuleAndSaysItInWords(t *testing.T) {
	v := url.Values{"title": {"Share, Discuss, Apply"}, "sessions": {"7"}, "frequency": {"monthly"}, "week": {"2"}, "weekday": {"TU"},
		"start": {"2026-03-01"}, "time": {"10:00"}, "duration": {"90"}, "timezone": {"Australia/Melbourne"}, "format": {"Share / Discuss / Apply"}}
	_, p, err := parseProgramForm(v)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cadence != "FREQ=MONTHLY;BYDAY=2TU" || p.FirstSessionAt != "2026-03-10T10:00" || strings.Join(p.Format, "|") != "Share|Discuss|Apply" {
		t.Errorf("planned %+v", p)
	}
	if got, want := programWords(p.Cadence, p.FirstSessionAt+":00", p.Timezone, 90, 7), "Monthly on the second Tuesday, 10:00–11:30 AEDT, 7 sessions from 10 Mar 2026"; got != want {
		t.Errorf("words %q, want %q", got, want)
	}
	v.Set("frequency", "weekly")
	v.Set("interval", "2")
	v.Set("weekday", "TH")
	if _, p, err = parseProgramForm(v); err != nil || p.Cadence != "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH" || p.FirstSessionAt != "2026-03-05T10:00" {
		t.Errorf("fortnightly Thursdays: %+v %v", p, err)
	}
	if w := cadenceWords(p.Cadence); w != "Every 2 weeks on Thursday" {
		t.Errorf("words %q", w)
	}
	// The last Friday of March 2026 (27 Mar) is before 28 Mar: the next is 24 Apr.
	if d := nthWeekdayOnOrAfter(time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), time.Friday, -1); d.Format(time.DateOnly) != "2026-04-24" {
		t.Errorf("last Friday: %s", d)
	}
	if got := when(time.Date(2026, 3, 9, 23, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 0, 30, 0, 0, time.UTC), "Australia/Melbourne"); got != "Tue 10 Mar 2026, 10:00–11:30 AEDT" {
		t.Errorf("when %q", got)
	}
	// Bad input names every field and keeps what was typed.
	f, _, err := parseProgramForm(url.Values{"title": {"x"}, "sessions": {"0"}, "frequency": {"daily"}, "start": {"10/03/2026"}, "timezone": {"Local"}})
	invalidFields(t, err)
	if f.Start != "10/03/2026" || f.Sessions != "0" {
		t.Errorf("the form lost what was typed: %+v", f)
	}
}

func FuzzProgramForm(f *testing.F) {
	f.Add("Share", "7", "monthly", "2", "1", "TU", "2026-03-01", "10:00", "90", "Australia/Melbourne", "Share / Discuss / Apply")
	f.Add("x", "100", "weekly", "", "12", "SU", "2100-12-31", "23:59", "600", "Pacific/Auckland", strings.Repeat("a/", 30))
	f.Add("\x00", "-1", "yearly", "5", "0", "XX", "0000-01-01", "25:00", "0", "Local", "\xff")
	f.Add("x", "1", "monthly", "-1", "1", "FR", "2026-02-28", "00:00", "5", "Australia/Perth", "")
	f.Fuzz(func(t *testing.T, title, sessions, freq, week, interval, day, start, clock, duration, zone, format string) {
		v := url.Values{"title": {title}, "sessions": {sessions}, "frequency": {freq}, "week": {week}, "interval": {interval},
			"weekday": {day}, "start": {start}, "time": {clock}, "duration": {duration}, "timezone": {zone}, "format": {format}}
		_, p, err := parseProgramForm(v)
		if err != nil {
			invalidFields(t, err)
			return
		}
		if !strings.HasPrefix(p.Cadence, "FREQ=") || p.Sessions < 1 || p.Sessions > 100 || p.Duration < 5 || p.Duration > 600 {
			t.Fatalf("accepted %+v", p)
		}
		first, err := time.Parse("2006-01-02T15:04", p.FirstSessionAt)
		if err != nil {
			t.Fatalf("first session %q: %v", p.FirstSessionAt, err)
		}
		if s, _ := time.Parse(time.DateOnly, start); first.Before(s) {
			t.Fatalf("first session %s before the start %s", first, start)
		}
		for _, part := range p.Format {
			if part == "" || !utf8.ValidString(part) || strings.ContainsFunc(part, isControl) {
				t.Fatalf("format part %q", part)
			}
		}
		if w := programWords(p.Cadence, p.FirstSessionAt, p.Timezone, p.Duration, p.Sessions); strings.HasPrefix(w, "Repeating") {
			t.Fatalf("the planner's own rule %q is not said in words: %q", p.Cadence, w)
		}
	})
}

func FuzzRescheduleForm(f *testing.F) {
	f.Add("2026-03-10", "10:00", "90", "Topic", "Room 1", "https://meet.example/x")
	f.Add("2026-13-40", "9", "x", "\x00", "\n", "javascript:alert(1)")
	f.Fuzz(func(t *testing.T, date, clock, duration, topic, location, link string) {
		_, out, err := parseRescheduleForm(url.Values{"date": {date}, "time": {clock}, "duration": {duration}, "topic": {topic}, "location": {location}, "link": {link}})
		if err != nil {
			invalidFields(t, err)
			return
		}
		if _, err := time.Parse("2006-01-02T15:04", out.StartsAt); err != nil {
			t.Fatalf("starts_at %q", out.StartsAt)
		}
		if out.Link != "" && !strings.HasPrefix(out.Link, "http") {
			t.Fatalf("link %q", out.Link)
		}
	})
}

func FuzzAttendanceForm(f *testing.F) {
	f.Add("status.p1=attended&status.p2=apologies&notes=good&outcomes=a%0Ab&held=yes")
	f.Add("status.p1=attended&status.p1=absent")
	f.Add("status.%00=absent&outcomes=%FF")
	f.Add("notes=only")
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		s, err := parseAttendanceForm(v)
		if err != nil {
			invalidFields(t, err)
			return
		}
		if len(s.Records) == 0 {
			t.Fatal("accepted an empty sheet")
		}
		for _, r := range s.Records {
			if r.PersonID == "" || (r.Status != "attended" && r.Status != "apologies" && r.Status != "absent") {
				t.Fatalf("record %+v", r)
			}
		}
		for _, o := range s.Outcomes {
			if strings.TrimSpace(o) == "" {
				t.Fatalf("empty outcome in %q", s.Outcomes)
			}
		}
	})
}

func FuzzRSVPAnswer(f *testing.F) {
	for _, s := range []string{"coming", "apologies", "maybe", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		got, err := rsvpAnswer(url.Values{"answer": {a}})
		if err != nil {
			invalidFields(t, err)
			return
		}
		if got != "coming" && got != "apologies" {
			t.Fatalf("accepted %q", got)
		}
	})
}

func FuzzRotationChoice(f *testing.F) {
	for _, s := range []string{"yes", "no", "maybe", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		got, err := rotationChoice(url.Values{"willing": {a}})
		if err != nil {
			invalidFields(t, err)
			return
		}
		if got != (a == "yes") || (a != "yes" && a != "no") {
			t.Fatalf("%q read as willing=%v", a, got)
		}
	})
}
