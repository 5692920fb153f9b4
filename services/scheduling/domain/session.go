package domain

import (
	"errors"
	"fmt"
	"time"

	"github.com/copnet/copnet/pkg/events"
)

// Status is where a session stands: scheduled until it is held or cancelled.
type Status string

// Session statuses.
const (
	StatusScheduled Status = "scheduled"
	StatusCancelled Status = "cancelled"
	StatusHeld      Status = "held"
)

// ErrTransition is a change the session's status does not allow; it becomes a 409.
var ErrTransition = errors.New("not allowed")

// Session is one meeting of a CoP's program.
type Session struct {
	ID, ProgramID, CoPID string
	Number               int
	StartsAt, EndsAt     time.Time
	Timezone             string
	Topic                string
	Location, Link       string
	Status               Status
	// Sequence is the iCalendar SEQUENCE: it grows with every change attendees should see,
	// so calendar apps replace their copy instead of keeping a stale one.
	Sequence     int
	Facilitator  string
	NoteTaker    string
	HostGroup    []string
	CancelReason string
	Notes        string
	Outcomes     []string
	HeldAt       *time.Time
	UpdatedAt    time.Time
}

// Change is a reschedule: nil fields keep their value.
type Change struct {
	StartsAt *time.Time
	Duration *time.Duration
	Topic    *string
	Location *string
	Link     *string
}

// Reschedule moves the session or changes its topic, place or link. Only a scheduled
// session can change; a change that changes nothing publishes nothing.
func (s *Session) Reschedule(c Change) (events.Event, error) {
	if s.Status != StatusScheduled {
		return nil, fmt.Errorf("%w: session %s is %s; only a scheduled session can be changed", ErrTransition, s.ID, s.Status)
	}
	before := *s
	length := s.EndsAt.Sub(s.StartsAt)
	if c.Duration != nil {
		length = *c.Duration
	}
	if c.StartsAt != nil {
		s.StartsAt = c.StartsAt.UTC()
	}
	s.EndsAt = s.StartsAt.Add(length)
	set(&s.Topic, c.Topic)
	set(&s.Location, c.Location)
	set(&s.Link, c.Link)
	if s.StartsAt.Equal(before.StartsAt) && s.EndsAt.Equal(before.EndsAt) && s.Topic == before.Topic &&
		s.Location == before.Location && s.Link == before.Link {
		return nil, nil
	}
	s.Sequence++
	return events.SessionRescheduled{SessionID: s.ID, CoPID: s.CoPID, StartsAt: s.StartsAt, EndsAt: s.EndsAt,
		Topic: s.Topic, Sequence: s.Sequence}, nil
}

func set(dst, v *string) {
	if v != nil {
		*dst = *v
	}
}

// Cancel calls the session off. A held session cannot be cancelled after the fact, and
// cancelling twice is a conflict rather than a silent success.
func (s *Session) Cancel(reason string) (events.Event, error) {
	if s.Status != StatusScheduled {
		return nil, fmt.Errorf("%w: session %s is %s; only a scheduled session can be cancelled", ErrTransition, s.ID, s.Status)
	}
	s.Status = StatusCancelled
	s.CancelReason = reason
	s.Sequence++
	return events.SessionCancelled{SessionID: s.ID, CoPID: s.CoPID, Reason: reason}, nil
}

// Hold records that the session took place. It must have started: a session cannot be
// held in advance.
func (s *Session) Hold(now time.Time, notes string, outcomes []string) (events.SessionHeld, error) {
	if s.Status != StatusScheduled {
		return events.SessionHeld{}, fmt.Errorf("%w: session %s is %s; only a scheduled session can be held", ErrTransition, s.ID, s.Status)
	}
	if now.Before(s.StartsAt) {
		return events.SessionHeld{}, fmt.Errorf("%w: session %s starts at %s; it cannot be held before it starts", ErrTransition, s.ID, s.StartsAt.Format(time.RFC3339))
	}
	s.Status = StatusHeld
	s.Notes = notes
	s.Outcomes = outcomes
	held := now.UTC()
	s.HeldAt = &held
	topics := []string{}
	if s.Topic != "" {
		topics = append(topics, s.Topic)
	}
	return events.SessionHeld{SessionID: s.ID, CoPID: s.CoPID, ProgramID: s.ProgramID, Number: s.Number,
		HeldAt: held, StartsAt: s.StartsAt.UTC(), Topic: s.Topic, Topics: topics}, nil
}

// Upcoming reports whether the session still lies ahead and will take place: the sessions
// whose roles the rotation may still change.
func (s *Session) Upcoming(now time.Time) bool {
	return s.Status == StatusScheduled && s.StartsAt.After(now)
}
