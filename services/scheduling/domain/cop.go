package domain

import "time"

// CoP is what scheduling knows of a CoP.
type CoP struct {
	ID, Region string
	// Name is the CoP's name from cop_proposed; empty until scheduling has heard it.
	Name    string
	Retired bool
}

// Title is how people know the CoP: its name, or its id while the name is unknown.
func (c CoP) Title() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// Program is a planned series of sessions.
type Program struct {
	ID, CoPID, Title string
	Sessions         int
	FirstSessionAt   string
	Timezone         string
	Cadence          string
	DurationMinutes  int
	Format           []string
	Checkins         []int
	CreatedAt        time.Time
}

// Willingness is a member's opt-in to the rotating roles.
type Willingness struct {
	Facilitator, NoteTaker bool
}

// HeldTurnout is one held session's attendance.
type HeldTurnout struct {
	SessionID string
	Number    int
	StartsAt  time.Time
	Turnout
}

// CalendarEntry is a session with what a calendar names it by.
type CalendarEntry struct {
	*Session
	CoP             CoP
	ProgramTitle    string
	ProgramSessions int
}

// RSVP answers: a member says ahead of a session that they will come, or sends apologies.
const (
	RSVPComing    = "coming"
	RSVPApologies = "apologies"
)

// RSVP is one member's answer ahead of a session.
type RSVP struct {
	SessionID, PersonID string
	Answer              string
	AnsweredAt          time.Time
}

// PersonalSession is an upcoming session of one of a person's CoPs with their answer ahead
// of it ("" before they answer).
type PersonalSession struct {
	CalendarEntry
	RSVP string
}
