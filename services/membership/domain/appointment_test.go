package domain

import (
	"errors"
	"testing"
	"time"
)

var opened = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestConsentWindowAppointsWhenItEndsWithoutObjection(t *testing.T) {
	a := ProposeCoordinator("ap", "cop", "p", opened, DefaultConsentWindow)
	if a.ConsentEndsAt != opened.Add(7*24*time.Hour) {
		t.Fatalf("window ends %s, want 7 days after opening", a.ConsentEndsAt)
	}
	justBefore := a.ConsentEndsAt.Add(-time.Second)
	if a.Due(justBefore) || a.Settle(justBefore, true) || a.Status != AppointmentOpen {
		t.Fatalf("settled inside the window: %s", a.Status)
	}
	later := a.ConsentEndsAt.Add(48 * time.Hour)
	if !a.Settle(later, true) || a.Status != AppointmentAppointed {
		t.Fatalf("after the window: %s, want appointed", a.Status)
	}
	// The term runs from the end of the window, not from whenever someone looked.
	if want := a.ConsentEndsAt.Add(Term); !a.TermEndsAt.Equal(want) {
		t.Errorf("term ends %s, want %s", a.TermEndsAt, want)
	}
	if a.Settle(later, true) {
		t.Error("settled twice")
	}
}

func TestAnObjectionLapsesTheAppointment(t *testing.T) {
	a := ProposeCoordinator("ap", "cop", "p", opened, time.Hour)
	if err := a.Object(opened.Add(59 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	if a.Status != AppointmentLapsed {
		t.Fatalf("status %s, want lapsed", a.Status)
	}
	if a.Settle(opened.Add(2*time.Hour), true) || a.Status != AppointmentLapsed {
		t.Errorf("a lapsed appointment was settled into %s", a.Status)
	}
	if err := a.Object(opened.Add(30 * time.Minute)); !errors.Is(err, ErrClosed) {
		t.Errorf("a second objection: %v", err)
	}
}

func TestAnObjectionAfterTheWindowIsTooLate(t *testing.T) {
	a := ProposeCoordinator("ap", "cop", "p", opened, time.Hour)
	if err := a.Object(opened.Add(time.Hour)); !errors.Is(err, ErrClosed) {
		t.Errorf("objection at the window's end: %v, want too late", err)
	}
	if a.Status != AppointmentOpen {
		t.Errorf("status %s: a late objection changed it", a.Status)
	}
}

func TestAnAppointeeWhoLeftIsNotAppointed(t *testing.T) {
	a := ProposeCoordinator("ap", "cop", "p", opened, time.Hour)
	if !a.Settle(opened.Add(time.Hour), false) || a.Status != AppointmentLapsed {
		t.Errorf("status %s, want lapsed", a.Status)
	}
}
