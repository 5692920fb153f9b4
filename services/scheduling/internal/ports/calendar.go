package ports

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/ical"
	"github.com/copnet/copnet/services/scheduling/domain"
)

// writeCalendar renders sessions as an RFC 5545 calendar (pkg/ical). Each session is one
// VEVENT whose UID is the session id (stable across changes) and whose SEQUENCE grows with
// each change, so subscribed calendar apps update events in place. Times carry the
// session's TZID with a VTIMEZONE built from the zone's real transitions, so apps show the
// CoP's wall-clock time even across daylight-saving changes. The calendar is named name;
// each event by its CoP, program and session, so that a person in several CoPs can tell
// them apart; and, as RFC 5546 asks of METHOD:PUBLISH, each names an ORGANIZER: its CoP,
// at the no-reply address organizer. Each session that is not cancelled says, in its
// DESCRIPTION, where to evaluate it afterwards: the console's /sessions/{id}/evaluate under
// the node's public URL publicURL, which leads a signed-in member to the evaluation.
func writeCalendar(w io.Writer, name, organizer, publicURL string, entries []domain.CalendarEntry, now time.Time) error {
	c := ical.Calendar{Name: name, ProdID: "-//copnet//scheduling//EN", Method: "PUBLISH", Organizer: organizer}
	for _, e := range entries {
		s := e.Session
		loc, err := domain.LoadZone(s.Timezone)
		if err != nil {
			return err
		}
		c.Events = append(c.Events, ical.Event{
			UID: s.ID + "@copnet", Sequence: s.Sequence, LastModified: s.UpdatedAt,
			Start: s.StartsAt, End: s.EndsAt, Zone: loc, Summary: summary(e), OrganizerName: e.CoP.Title(),
			Location: s.Location, URL: s.Link, Cancelled: s.Status == domain.StatusCancelled,
		})
		if s.Status != domain.StatusCancelled && publicURL != "" {
			c.Events[len(c.Events)-1].Description = evaluationText(publicURL, s)
		}
	}
	return ical.Write(w, c, now)
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
