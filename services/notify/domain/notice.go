// Package domain holds the notify service's vocabulary: the kinds of notice a person may
// get and how often they want each kind.
package domain

import (
	"fmt"
	"slices"
)

// Kind is a kind of notice; people set a cadence per kind.
type Kind string

// The kinds of notice, each for one event (or family of events) that concerns people.
const (
	KindReminder      Kind = "session_reminder"  // a session of a CoP one belongs to is near
	KindSessionChange Kind = "session_change"    // a session moved or was cancelled
	KindRotation      Kind = "rotation"          // one facilitates or takes notes at a session
	KindApplication   Kind = "application"       // the decision on a CoP one proposed
	KindParticipation Kind = "participation"     // a CoP's attendance is declining
	KindOverlap       Kind = "overlap"           // another CoP works on the same thing
	KindRequest       Kind = "knowledge_request" // a question for one's expertise, or its answer
	KindFeedback      Kind = "feedback"          // a check-in or evaluation is open
	KindCharter       Kind = "code_of_practice"  // a new Code of Practice to accept
	KindGap           Kind = "gap"               // a gap in the region's knowledge
	KindDigest        Kind = "digest"            // the weekly hub or national digest
)

// Kinds lists every kind, in the order the preferences page shows them.
var Kinds = []Kind{KindReminder, KindSessionChange, KindRotation, KindApplication, KindParticipation,
	KindOverlap, KindRequest, KindFeedback, KindCharter, KindGap, KindDigest}

// Titles name each kind for people.
var Titles = map[Kind]string{
	KindReminder:      "Session reminders",
	KindSessionChange: "Sessions moved or cancelled",
	KindRotation:      "Your turn to facilitate or take notes",
	KindApplication:   "Decisions on CoPs you proposed",
	KindParticipation: "Declining participation in your CoPs",
	KindOverlap:       "Overlaps with other CoPs",
	KindRequest:       "Knowledge requests and answers",
	KindFeedback:      "Check-ins and evaluations",
	KindCharter:       "New Codes of Practice",
	KindGap:           "Knowledge gaps in your region",
	KindDigest:        "Weekly hub and national digests",
}

// ParseKind checks a kind named by outside input.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if !slices.Contains(Kinds, k) {
		return "", fmt.Errorf("is not a kind of notice")
	}
	return k, nil
}

// Cadence is how often a person wants a kind of notice.
type Cadence string

// The cadences; Immediately is what a person gets until they choose.
const (
	Immediately Cadence = "immediately"
	Daily       Cadence = "daily"
	Weekly      Cadence = "weekly"
	Off         Cadence = "off"
)

// Cadences lists every cadence, in the order the preferences page offers them.
var Cadences = []Cadence{Immediately, Daily, Weekly, Off}

// ParseCadence checks a cadence named by outside input.
func ParseCadence(s string) (Cadence, error) {
	c := Cadence(s)
	if !slices.Contains(Cadences, c) {
		return "", fmt.Errorf("must be one of immediately, daily, weekly, off")
	}
	return c, nil
}

// Notice is one thing to tell one person: the unit of a decision.
type Notice struct {
	// Key names what caused it (an event id, or a session and its sequence for a
	// reminder); with the person and kind it makes the notice once-only.
	Key      string
	PersonID string
	Kind     Kind
	Subject  string
	// Body is plain text; the HTML alternative is rendered from it.
	Body string
	// Attachment, when set, is an iCalendar invitation (reminders).
	ICS []byte
}
