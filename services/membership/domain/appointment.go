package domain

import (
	"fmt"
	"time"
)

// AppointmentStatus is where a coordinator appointment stands.
type AppointmentStatus string

// An appointment is open during its consent window; it is then appointed, or lapsed by an
// objection.
const (
	AppointmentOpen      AppointmentStatus = "open"
	AppointmentAppointed AppointmentStatus = "appointed"
	AppointmentLapsed    AppointmentStatus = "lapsed"
)

// DefaultConsentWindow is how long working-group members have to object.
const DefaultConsentWindow = 7 * 24 * time.Hour

// Term is how long a coordinator serves: "a coordinator is appointed each year".
const Term = 365 * 24 * time.Hour

// Appointment is a coordinator appointment by consent: the person is appointed unless a
// working-group member objects before the window ends.
type Appointment struct {
	ID            string
	CoPID         string
	PersonID      string
	OpenedAt      time.Time
	ConsentEndsAt time.Time
	Status        AppointmentStatus
	TermEndsAt    time.Time // set once appointed
}

// ProposeCoordinator opens a consent window of the given length at now.
func ProposeCoordinator(id, copID, personID string, now time.Time, window time.Duration) *Appointment {
	return &Appointment{ID: id, CoPID: copID, PersonID: personID, OpenedAt: now,
		ConsentEndsAt: now.Add(window), Status: AppointmentOpen}
}

// Due reports whether the window has ended without a decision, so the appointment must be
// settled before anything else happens to it.
func (a *Appointment) Due(now time.Time) bool {
	return a.Status == AppointmentOpen && !now.Before(a.ConsentEndsAt)
}

// Object lapses the appointment: one objection is enough, because consent means nobody
// objects. An objection after the window ended is too late.
func (a *Appointment) Object(now time.Time) error {
	if a.Due(now) {
		return fmt.Errorf("%w: the consent window of appointment %s ended at %s", ErrClosed, a.ID, a.ConsentEndsAt.Format(time.RFC3339))
	}
	if a.Status != AppointmentOpen {
		return fmt.Errorf("%w: appointment %s is %s", ErrClosed, a.ID, a.Status)
	}
	a.Status = AppointmentLapsed
	return nil
}

// Settle decides a window that ended: the person is appointed for a term starting when the
// window ended (not when someone happened to look), unless they are no longer a member.
// It reports whether anything changed.
func (a *Appointment) Settle(now time.Time, stillMember bool) bool {
	if !a.Due(now) {
		return false
	}
	if !stillMember {
		a.Status = AppointmentLapsed
		return true
	}
	a.Status = AppointmentAppointed
	a.TermEndsAt = a.ConsentEndsAt.Add(Term)
	return true
}
