// Package ical renders RFC 5545 calendars: the scheduling service's feeds and the
// invitations notify attaches to session reminders, with one renderer for both.
package ical

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Event is one VEVENT.
type Event struct {
	// UID is stable across changes of the event; Sequence grows with each change, so
	// calendar apps update the event in place.
	UID          string
	Sequence     int
	LastModified time.Time
	Start, End   time.Time
	// Zone is the event's IANA time zone: times carry its TZID, with a VTIMEZONE built
	// from the zone's real transitions.
	Zone          *time.Location
	Summary       string
	OrganizerName string
	Location      string
	URL           string
	// Description is the event's text, e.g. where to evaluate a session afterwards.
	Description string
	Cancelled   bool
}

// Calendar is a VCALENDAR: Method is PUBLISH for a feed, REQUEST for an invitation.
type Calendar struct {
	Name      string
	ProdID    string
	Method    string
	Organizer string // the no-reply address events are organised from
	Events    []Event
}

// Write renders c, stamped now.
func Write(w io.Writer, c Calendar, now time.Time) error {
	var b strings.Builder
	line := func(format string, args ...any) { b.WriteString(fold(fmt.Sprintf(format, args...))) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:%s", c.ProdID)
	line("CALSCALE:GREGORIAN")
	line("METHOD:%s", c.Method)
	if c.Name != "" {
		line("X-WR-CALNAME:%s", escape(c.Name))
	}
	type span struct {
		loc      *time.Location
		from, to time.Time
	}
	zones := map[string]*span{}
	for _, e := range c.Events {
		z, ok := zones[e.Zone.String()]
		if !ok {
			z = &span{e.Zone, e.Start, e.End}
			zones[e.Zone.String()] = z
		}
		z.from = minTime(z.from, e.Start)
		z.to = maxTime(z.to, e.End)
	}
	names := make([]string, 0, len(zones))
	for z := range zones {
		names = append(names, z)
	}
	slices.Sort(names)
	for _, n := range names {
		writeZone(line, zones[n].loc, zones[n].from, zones[n].to)
	}
	for _, e := range c.Events {
		loc := e.Zone
		line("BEGIN:VEVENT")
		line("UID:%s", e.UID)
		line("DTSTAMP:%s", now.UTC().Format("20060102T150405Z"))
		if !e.LastModified.IsZero() {
			line("LAST-MODIFIED:%s", e.LastModified.UTC().Format("20060102T150405Z"))
		}
		line("SEQUENCE:%d", e.Sequence)
		line("DTSTART;TZID=%s:%s", loc.String(), e.Start.In(loc).Format("20060102T150405"))
		line("DTEND;TZID=%s:%s", loc.String(), e.End.In(loc).Format("20060102T150405"))
		line("SUMMARY:%s", escape(e.Summary))
		line("ORGANIZER;CN=%s:mailto:%s", paramValue(e.OrganizerName), uriValue(c.Organizer))
		if e.Location != "" {
			line("LOCATION:%s", escape(e.Location))
		}
		if e.URL != "" {
			line("URL:%s", uriValue(e.URL))
		}
		if e.Description != "" {
			line("DESCRIPTION:%s", escape(e.Description))
		}
		if e.Cancelled {
			line("STATUS:CANCELLED")
		} else {
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
