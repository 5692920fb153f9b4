package ports

// The program planner's and the session pages' forms, decoded here and turned into what
// scheduling takes: a person picks "monthly, on the second Tuesday, 10:00, 90 minutes"
// and the console builds the RRULE (FREQ=MONTHLY;BYDAY=2TU) and the first session's local
// date-time, and says the result back in words. Each decoder names every bad field and
// keeps what was typed, so the page can show both.

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// weekdays are the RRULE day codes in the order the form lists them.
var weekdays = []struct{ Code, Name string }{
	{"MO", "Monday"}, {"TU", "Tuesday"}, {"WE", "Wednesday"}, {"TH", "Thursday"}, {"FR", "Friday"}, {"SA", "Saturday"}, {"SU", "Sunday"},
}

// weekOfMonth are the "which week of the month" choices; -1 is the last.
var weekOfMonth = []struct {
	N    int
	Name string
}{{1, "first"}, {2, "second"}, {3, "third"}, {4, "fourth"}, {-1, "last"}}

// planningZones are the time zones a CoP of this network meets in; the form offers them.
var planningZones = []struct{ ID, Name string }{
	{"Australia/Melbourne", "Melbourne (Victoria)"}, {"Australia/Sydney", "Sydney (New South Wales)"},
	{"Australia/Hobart", "Hobart (Tasmania)"}, {"Australia/Brisbane", "Brisbane (Queensland)"},
	{"Australia/Adelaide", "Adelaide (South Australia)"}, {"Australia/Darwin", "Darwin (Northern Territory)"},
	{"Australia/Perth", "Perth (Western Australia)"}, {"Pacific/Auckland", "Auckland (New Zealand)"},
}

// programForm is the planner's form as typed: kept whole to show it again on a refusal.
type programForm struct {
	Title, Sessions, Frequency, Week, Interval, Weekday, Start, Time, Duration, Timezone, Format string
}

// plannedProgram is a checked programForm, ready for scheduling.
type plannedProgram struct {
	Title          string
	Sessions       int
	Cadence        string
	FirstSessionAt string // local date-time in Timezone
	Timezone       string
	Duration       int
	Format         []string
}

// defaultProgramForm is what the planner proposes: the seeds' usual shape.
func defaultProgramForm(zone string) programForm {
	return programForm{Title: "Share, Discuss, Apply", Sessions: "7", Frequency: "monthly", Week: "2", Interval: "1", Weekday: "TU",
		Time: "10:00", Duration: "90", Timezone: zone, Format: "Share / Discuss / Apply"}
}

func fieldErr(fields *[]apperr.FieldError, field, msg string) {
	*fields = append(*fields, apperr.FieldError{Field: field, Message: msg})
}

// oneLineText reports text typed on one line: valid UTF-8 without control characters.
func oneLineText(s string, most int) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, isControl) && utf8.RuneCountInString(s) <= most
}

// parseProgramForm reads the planner's form. The first session is the first day on or
// after the chosen start date that fits the pattern, so that nobody has to work out which
// date the second Tuesday of March is.
func parseProgramForm(v url.Values) (programForm, plannedProgram, error) {
	f := programForm{Title: strings.TrimSpace(v.Get("title")), Sessions: strings.TrimSpace(v.Get("sessions")),
		Frequency: v.Get("frequency"), Week: v.Get("week"), Interval: strings.TrimSpace(v.Get("interval")), Weekday: v.Get("weekday"),
		Start: strings.TrimSpace(v.Get("start")), Time: strings.TrimSpace(v.Get("time")), Duration: strings.TrimSpace(v.Get("duration")),
		Timezone: v.Get("timezone"), Format: v.Get("format")}
	var p plannedProgram
	var fields []apperr.FieldError
	if f.Title == "" || !oneLineText(f.Title, 200) {
		fieldErr(&fields, "title", "is required: one line of at most 200 characters")
	}
	p.Title = f.Title
	n, err := strconv.Atoi(f.Sessions)
	if err != nil || n < 1 || n > 100 {
		fieldErr(&fields, "sessions", "must be a number of sessions between 1 and 100")
	}
	p.Sessions = n
	day := slices.IndexFunc(weekdays, func(d struct{ Code, Name string }) bool { return d.Code == f.Weekday })
	if day < 0 {
		fieldErr(&fields, "weekday", "must be a day of the week")
	}
	var week, interval int
	switch f.Frequency {
	case "monthly":
		week, err = strconv.Atoi(f.Week)
		if err != nil || !slices.ContainsFunc(weekOfMonth, func(w struct {
			N    int
			Name string
		}) bool {
			return w.N == week
		}) {
			fieldErr(&fields, "week", "must be the first, second, third, fourth or last week of the month")
		}
	case "weekly":
		interval, err = strconv.Atoi(f.Interval)
		if err != nil || interval < 1 || interval > 12 {
			fieldErr(&fields, "interval", "must be every 1 to 12 weeks")
		}
	default:
		fieldErr(&fields, "frequency", "must be monthly or weekly")
	}
	start, err := time.Parse(time.DateOnly, f.Start)
	if err != nil || start.Year() < 2000 || start.Year() > 2100 {
		fieldErr(&fields, "start", "must be a date such as 2026-03-01")
	}
	clock, err := time.Parse("15:04", f.Time)
	if err != nil {
		fieldErr(&fields, "time", "must be a time of day such as 10:00")
	}
	p.Duration, err = strconv.Atoi(f.Duration)
	if err != nil || p.Duration < 5 || p.Duration > 600 {
		fieldErr(&fields, "duration", "must be between 5 and 600 minutes")
	}
	if !slices.ContainsFunc(planningZones, func(z struct{ ID, Name string }) bool { return z.ID == f.Timezone }) {
		fieldErr(&fields, "timezone", "must be one of the time zones listed")
	}
	p.Timezone = f.Timezone
	p.Format = []string{}
	if !utf8.ValidString(f.Format) || len(f.Format) > 2000 {
		fieldErr(&fields, "format", "must be at most 2000 characters")
	} else {
		for _, part := range strings.FieldsFunc(f.Format, func(r rune) bool { return r == '/' || r == '\n' || r == ',' }) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if !oneLineText(part, 100) {
				fieldErr(&fields, "format", "parts must be names of at most 100 characters")
				break
			}
			p.Format = append(p.Format, part)
		}
		if len(p.Format) > 20 {
			fieldErr(&fields, "format", "has more than 20 parts")
		}
	}
	if len(fields) > 0 {
		return f, p, apperr.InvalidFields(fields...)
	}
	code := weekdays[day].Code
	first := start
	if f.Frequency == "monthly" {
		p.Cadence = fmt.Sprintf("FREQ=MONTHLY;BYDAY=%d%s", week, code)
		first = nthWeekdayOnOrAfter(start, time.Weekday((day+1)%7), week)
	} else {
		p.Cadence = "FREQ=WEEKLY;BYDAY=" + code
		if interval > 1 {
			p.Cadence = fmt.Sprintf("FREQ=WEEKLY;INTERVAL=%d;BYDAY=%s", interval, code)
		}
		for first.Weekday() != time.Weekday((day+1)%7) {
			first = first.AddDate(0, 0, 1)
		}
	}
	p.FirstSessionAt = first.Format(time.DateOnly) + "T" + clock.Format("15:04")
	return f, p, nil
}

// nthWeekdayOnOrAfter is the first date on or after from that is the n-th (or, for -1, the
// last) weekday wd of its month.
func nthWeekdayOnOrAfter(from time.Time, wd time.Weekday, n int) time.Time {
	for m := 0; m < 24; m++ {
		first := time.Date(from.Year(), from.Month()+time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		d := nthWeekday(first.Year(), first.Month(), wd, n)
		if !d.Before(from) {
			return d
		}
	}
	return from
}

func nthWeekday(y int, m time.Month, wd time.Weekday, n int) time.Time {
	if n < 0 {
		last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC)
		for last.Weekday() != wd {
			last = last.AddDate(0, 0, -1)
		}
		return last
	}
	d := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 7*(n-1))
}

// cadenceWords says a cadence the planner builds in words ("Monthly on the second
// Tuesday", "Every 2 weeks on Thursday"); any other RRULE is shown as it is.
func cadenceWords(cadence string) string {
	parts := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(cadence, "RRULE:"), ";") {
		k, v, _ := strings.Cut(kv, "=")
		parts[strings.ToUpper(k)] = v
	}
	dayName := func(code string) string {
		for _, d := range weekdays {
			if d.Code == code {
				return d.Name
			}
		}
		return ""
	}
	day := parts["BYDAY"]
	switch parts["FREQ"] {
	case "MONTHLY":
		if len(day) >= 3 && parts["INTERVAL"] == "" {
			n, err := strconv.Atoi(day[:len(day)-2])
			name := dayName(day[len(day)-2:])
			for _, w := range weekOfMonth {
				if err == nil && w.N == n && name != "" {
					return "Monthly on the " + w.Name + " " + name
				}
			}
		}
	case "WEEKLY":
		if name := dayName(day); name != "" {
			switch parts["INTERVAL"] {
			case "", "1":
				return "Weekly on " + name
			default:
				if n, err := strconv.Atoi(parts["INTERVAL"]); err == nil {
					return fmt.Sprintf("Every %d weeks on %s", n, name)
				}
			}
		}
	}
	return "Repeating by the rule " + cadence
}

// when says a session's time in its CoP's zone as people read it:
// "Tue 10 Mar 2026, 10:00–11:30 AEDT".
func when(start, end time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.UTC
	}
	s, e := start.In(loc), end.In(loc)
	out := s.Format("Mon 2 Jan 2006, 15:04") + "–" + e.Format("15:04")
	if e.YearDay() != s.YearDay() {
		out = s.Format("Mon 2 Jan 2006, 15:04") + " – " + e.Format("Mon 2 Jan 15:04")
	}
	return out + " " + s.Format("MST")
}

// programWords says a program back in words: "Monthly on the second Tuesday, 10:00–11:30
// AEDT, 7 sessions from 10 Mar 2026".
func programWords(cadence, firstLocal, zone string, duration, sessions int) string {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.UTC
	}
	first, err := time.ParseInLocation("2006-01-02T15:04:05", firstLocal, loc)
	if err != nil {
		first, err = time.ParseInLocation("2006-01-02T15:04", firstLocal, loc)
	}
	if err != nil {
		return cadenceWords(cadence)
	}
	end := first.Add(time.Duration(duration) * time.Minute)
	noun := "sessions"
	if sessions == 1 {
		noun = "session"
	}
	return fmt.Sprintf("%s, %s–%s %s, %d %s from %s", cadenceWords(cadence), first.Format("15:04"), end.Format("15:04"),
		first.Format("MST"), sessions, noun, first.Format("2 Jan 2006"))
}

// rescheduleForm is a session's reschedule as typed.
type rescheduleForm struct {
	Date, Time, Duration, Topic, Location, Link string
}

// reschedule is what scheduling's PUT /v1/sessions/{id} takes.
type reschedule struct {
	StartsAt        string `json:"starts_at"`
	DurationMinutes int    `json:"duration_minutes"`
	Topic           string `json:"topic"`
	Location        string `json:"location"`
	Link            string `json:"link"`
}

// parseRescheduleForm reads the session page's reschedule form; date and time are local
// to the CoP's zone, as the page shows them.
func parseRescheduleForm(v url.Values) (rescheduleForm, reschedule, error) {
	f := rescheduleForm{Date: strings.TrimSpace(v.Get("date")), Time: strings.TrimSpace(v.Get("time")),
		Duration: strings.TrimSpace(v.Get("duration")), Topic: strings.TrimSpace(v.Get("topic")),
		Location: strings.TrimSpace(v.Get("location")), Link: strings.TrimSpace(v.Get("link"))}
	var out reschedule
	var fields []apperr.FieldError
	d, err := time.Parse(time.DateOnly, f.Date)
	if err != nil || d.Year() < 2000 || d.Year() > 2100 {
		fieldErr(&fields, "date", "must be a date such as 2026-03-10")
	}
	if _, err := time.Parse("15:04", f.Time); err != nil {
		fieldErr(&fields, "time", "must be a time of day such as 10:00")
	}
	out.StartsAt = f.Date + "T" + f.Time
	out.DurationMinutes, err = strconv.Atoi(f.Duration)
	if err != nil || out.DurationMinutes < 5 || out.DurationMinutes > 600 {
		fieldErr(&fields, "duration", "must be between 5 and 600 minutes")
	}
	if !oneLineText(f.Topic, 200) {
		fieldErr(&fields, "topic", "must be one line of at most 200 characters")
	}
	if !oneLineText(f.Location, 500) {
		fieldErr(&fields, "location", "must be one line of at most 500 characters")
	}
	if !oneLineText(f.Link, 2000) || f.Link != "" && !strings.HasPrefix(f.Link, "https://") && !strings.HasPrefix(f.Link, "http://") {
		fieldErr(&fields, "link", "must be a web address starting with https://")
	}
	out.Topic, out.Location, out.Link = f.Topic, f.Location, f.Link
	if len(fields) > 0 {
		return f, out, apperr.InvalidFields(fields...)
	}
	return f, out, nil
}

// attendanceStatuses are the sheet's choices, as scheduling names them.
var attendanceStatuses = []string{"attended", "apologies", "absent"}

// attendanceSheet is the attendance form: one status per person, and what happened.
type attendanceSheet struct {
	Records  []attendanceRecord
	Notes    string
	Outcomes []string
	Held     bool
}

type attendanceRecord struct {
	PersonID string `json:"person_id"`
	Status   string `json:"status"`
}

// parseAttendanceForm reads the sheet: a status field "status.<person id>" per member,
// notes, outcomes one a line, and whether to mark the session held.
func parseAttendanceForm(v url.Values) (attendanceSheet, error) {
	var s attendanceSheet
	var fields []apperr.FieldError
	for key, vals := range v {
		person, ok := strings.CutPrefix(key, "status.")
		if !ok {
			continue
		}
		if checkID("person", person) != nil || len(person) > 64 || len(vals) != 1 || !slices.Contains(attendanceStatuses, vals[0]) {
			fieldErr(&fields, key, "must be present, apologies or absent, once")
			continue
		}
		s.Records = append(s.Records, attendanceRecord{PersonID: person, Status: vals[0]})
	}
	slices.SortFunc(s.Records, func(a, b attendanceRecord) int { return strings.Compare(a.PersonID, b.PersonID) })
	if len(s.Records) == 0 && len(fields) == 0 {
		fieldErr(&fields, "status", "nobody is on the sheet")
	}
	if len(s.Records) > 1000 {
		fieldErr(&fields, "status", "has more than 1000 people")
	}
	s.Notes = strings.TrimSpace(v.Get("notes"))
	if !utf8.ValidString(s.Notes) || strings.ContainsRune(s.Notes, 0) || len(s.Notes) > 20000 {
		fieldErr(&fields, "notes", "must be at most 20000 characters")
	}
	outcomes := v.Get("outcomes")
	if !utf8.ValidString(outcomes) || strings.ContainsRune(outcomes, 0) || len(outcomes) > 50000 {
		fieldErr(&fields, "outcomes", "must be text, one outcome a line")
	} else {
		for _, line := range strings.Split(outcomes, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				s.Outcomes = append(s.Outcomes, line)
			}
		}
		if len(s.Outcomes) > 50 {
			fieldErr(&fields, "outcomes", "has more than 50 lines")
		}
	}
	s.Held = v.Get("held") == "yes"
	if len(fields) > 0 {
		return s, apperr.InvalidFields(fields...)
	}
	if s.Outcomes == nil {
		s.Outcomes = []string{}
	}
	return s, nil
}

// rsvpAnswer reads the answer a member gives ahead of a session.
// rotationChoice reads a member's "take turns" form: willing is "yes" or "no".
func rotationChoice(v url.Values) (bool, error) {
	switch v.Get("willing") {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, apperr.Invalid("willing", "must be yes or no")
}

func rsvpAnswer(v url.Values) (string, error) {
	a := v.Get("answer")
	if a != "coming" && a != "apologies" {
		return "", apperr.Invalid("answer", "must be coming or apologies")
	}
	return a, nil
}
