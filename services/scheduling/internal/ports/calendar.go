package ports

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/services/scheduling/domain"
)

// writeCalendar renders sessions as an RFC 5545 calendar. Each session is one VEVENT whose
// UID is the session id (stable across changes) and whose SEQUENCE grows with each change,
// so subscribed calendar apps update events in place. Times carry the session's TZID with
// a VTIMEZONE built from the zone's real transitions, so apps show the CoP's wall-clock
// time even across daylight-saving changes.
func writeCalendar(w io.Writer, name string, sessions []*domain.Session, now time.Time) error {
	var b strings.Builder
	line := func(format string, args ...any) { b.WriteString(fold(fmt.Sprintf(format, args...))) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//copnet//scheduling//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:%s", escape(name))
	zones := map[string][2]time.Time{}
	for _, s := range sessions {
		span, ok := zones[s.Timezone]
		if !ok {
			span = [2]time.Time{s.StartsAt, s.EndsAt}
		}
		span[0] = minTime(span[0], s.StartsAt)
		span[1] = maxTime(span[1], s.EndsAt)
		zones[s.Timezone] = span
	}
	names := make([]string, 0, len(zones))
	for z := range zones {
		names = append(names, z)
	}
	slices.Sort(names)
	for _, z := range names {
		loc, err := domain.LoadZone(z)
		if err != nil {
			return err
		}
		writeZone(line, loc, zones[z][0], zones[z][1])
	}
	for _, s := range sessions {
		loc, err := domain.LoadZone(s.Timezone)
		if err != nil {
			return err
		}
		line("BEGIN:VEVENT")
		line("UID:%s@copnet", s.ID)
		line("DTSTAMP:%s", now.UTC().Format("20060102T150405Z"))
		line("LAST-MODIFIED:%s", s.UpdatedAt.UTC().Format("20060102T150405Z"))
		line("SEQUENCE:%d", s.Sequence)
		line("DTSTART;TZID=%s:%s", loc.String(), s.StartsAt.In(loc).Format("20060102T150405"))
		line("DTEND;TZID=%s:%s", loc.String(), s.EndsAt.In(loc).Format("20060102T150405"))
		summary := fmt.Sprintf("Session %d", s.Number)
		if s.Topic != "" {
			summary += ": " + s.Topic
		}
		line("SUMMARY:%s", escape(summary))
		if s.Location != "" {
			line("LOCATION:%s", escape(s.Location))
		}
		if s.Link != "" {
			line("URL:%s", s.Link)
		}
		switch s.Status {
		case domain.StatusCancelled:
			line("STATUS:CANCELLED")
		default:
			line("STATUS:CONFIRMED")
		}
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeZone emits a VTIMEZONE with one observance per offset period the sessions touch,
// read from Go's zone data (time.Time.ZoneBounds), rather than a hand-kept rule that could
// drift from the tz database.
func writeZone(line func(string, ...any), loc *time.Location, from, to time.Time) {
	line("BEGIN:VTIMEZONE")
	line("TZID:%s", loc.String())
	t := from.In(loc)
	for i := 0; i < 200; i++ {
		start, end := t.ZoneBounds()
		abbr, offset := t.Zone()
		prev := offset
		onset := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
		if !start.IsZero() {
			_, prev = start.Add(-time.Second).In(loc).Zone()
			onset = start.In(time.FixedZone("", prev))
		}
		kind := "STANDARD"
		if t.IsDST() {
			kind = "DAYLIGHT"
		}
		line("BEGIN:%s", kind)
		line("DTSTART:%s", onset.Format("20060102T150405"))
		line("TZOFFSETFROM:%s", utcOffset(prev))
		line("TZOFFSETTO:%s", utcOffset(offset))
		line("TZNAME:%s", escape(abbr))
		line("END:%s", kind)
		if end.IsZero() || !end.Before(to) {
			break
		}
		t = end.In(loc)
	}
	line("END:VTIMEZONE")
}

func utcOffset(seconds int) string {
	sign := '+'
	if seconds < 0 {
		sign, seconds = '-', -seconds
	}
	return fmt.Sprintf("%c%02d%02d", sign, seconds/3600, seconds%3600/60)
}

// escape applies RFC 5545 TEXT escaping.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "").Replace(s)
}

// fold ends a content line with CRLF, folding it at 75 octets without splitting a UTF-8
// character, as RFC 5545 section 3.1 requires.
func fold(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		size := len(string(r))
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += size
	}
	b.WriteString("\r\n")
	return b.String()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
