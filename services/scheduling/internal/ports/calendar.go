package ports

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/services/scheduling/domain"
)

// writeCalendar renders sessions as an RFC 5545 calendar. Each session is one VEVENT whose
// UID is the session id (stable across changes) and whose SEQUENCE grows with each change,
// so subscribed calendar apps update events in place. Times carry the session's TZID with
// a VTIMEZONE built from the zone's real transitions, so apps show the CoP's wall-clock
// time even across daylight-saving changes. The calendar is named name; each event by its
// CoP, program and session, so that a person in several CoPs can tell them apart; and, as
// RFC 5546 asks of METHOD:PUBLISH, each names an ORGANIZER: its CoP, at the no-reply
// address organizer. Each session that is not cancelled says, in its DESCRIPTION, where
// to evaluate it afterwards: the console's /sessions/{id}/evaluate under the node's public
// URL publicURL, which leads a signed-in member to the session's evaluation.
func writeCalendar(w io.Writer, name, organizer, publicURL string, entries []domain.CalendarEntry, now time.Time) error {
	var b strings.Builder
	line := func(format string, args ...any) { b.WriteString(fold(fmt.Sprintf(format, args...))) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//copnet//scheduling//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:%s", escape(name))
	zones := map[string][2]time.Time{}
	for _, e := range entries {
		s := e.Session
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
	for _, e := range entries {
		s := e.Session
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
		line("SUMMARY:%s", escape(summary(e)))
		line("ORGANIZER;CN=%s:mailto:%s", paramValue(e.CoP.Title()), uriValue(organizer))
		if s.Location != "" {
			line("LOCATION:%s", escape(s.Location))
		}
		if s.Link != "" {
			line("URL:%s", uriValue(s.Link))
		}
		switch s.Status {
		case domain.StatusCancelled:
			line("STATUS:CANCELLED")
		default:
			line("STATUS:CONFIRMED")
			if publicURL != "" {
				line("DESCRIPTION:%s", escape(evaluationText(publicURL, s)))
			}
		}
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	_, err := io.WriteString(w, b.String())
	return err
}

// EvaluationLink is where a member evaluates a session: the console's page under the node's
// public URL.
func EvaluationLink(publicURL, session string) string {
	return strings.TrimSuffix(publicURL, "/") + "/sessions/" + url.PathEscape(session) + "/evaluate"
}

func evaluationText(publicURL string, s *domain.Session) string {
	text := "After the session, tell us how it went (anonymous, two minutes): " + EvaluationLink(publicURL, s.ID)
	if s.Link != "" {
		text = "Join online: " + s.Link + "\n" + text
	}
	return text
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

// summary names a session as people see it among others: "Youth mental health — Share,
// Discuss, Apply 3 of 7: Mentoring".
func summary(e domain.CalendarEntry) string {
	s := fmt.Sprintf("%s — %s %d of %d", e.CoP.Title(), e.ProgramTitle, e.Number, e.ProgramSessions)
	if e.Topic != "" {
		s += ": " + e.Topic
	}
	return s
}

// escape turns any string into an RFC 5545 TEXT value (section 3.3.11): backslash,
// semicolon and comma are escaped, a line break (CRLF, CR or LF) becomes the two
// characters \n, and every other control character, which TEXT does not allow, is dropped,
// as is invalid UTF-8. Nothing a CoP typed can then end the content line and start a
// property of its own.
func escape(s string) string {
	var b strings.Builder
	s = strings.ToValidUTF8(s, "")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case ';':
			b.WriteString(`\;`)
		case ',':
			b.WriteString(`\,`)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			b.WriteString(`\n`)
		case '\n':
			b.WriteString(`\n`)
		default:
			if c < 0x20 || c == 0x7f {
				continue
			}
			b.WriteByte(c)
		}
	}
	// C1 controls (U+0080–U+009F) are multi-byte in UTF-8; TEXT excludes them too.
	return strings.Map(func(r rune) rune {
		if r >= 0x80 && r <= 0x9f {
			return -1
		}
		return r
	}, b.String())
}

// paramValue quotes a property parameter value (section 3.2): DQUOTE and control
// characters cannot appear inside one, so they are dropped.
func paramValue(s string) string {
	return `"` + strings.Map(func(r rune) rune {
		if r == '"' || r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "")) + `"`
}

// uriValue keeps a URI value on its content line: control characters cannot be in a URI.
func uriValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
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
