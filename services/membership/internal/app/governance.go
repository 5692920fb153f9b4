package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/domain"
)

// inWorkingGroup reports whether the caller is a working-group member of the CoP.
func inWorkingGroup(ctx context.Context, tx Tx, c httpx.Claims, copID string) (bool, error) {
	if c.Subject == "" {
		return false, nil
	}
	wg, err := tx.WorkingGroup(ctx, copID)
	return slices.Contains(wg, c.Subject), err
}

// isMember reports whether the caller is a current member of the CoP.
func isMember(ctx context.Context, tx Tx, c httpx.Claims, copID string) (bool, error) {
	if c.Subject == "" {
		return false, nil
	}
	m, err := tx.Membership(ctx, copID, c.Subject, false)
	return m != nil && m.Active, err
}

// AppointmentView is a coordinator appointment as the API shows it.
type AppointmentView struct {
	ID            string                   `json:"id"`
	CoPID         string                   `json:"cop_id"`
	PersonID      string                   `json:"person_id"`
	Status        domain.AppointmentStatus `json:"status"`
	OpenedAt      time.Time                `json:"opened_at"`
	ConsentEndsAt time.Time                `json:"consent_ends_at"`
	TermEndsAt    *time.Time               `json:"term_ends_at,omitempty"`
	// PersonName and Objections let the CoP's members read the consent they are asked
	// for: who is proposed, and who objected and why.
	PersonName string          `json:"person_name"`
	Objections []ObjectionView `json:"objections"`
}

// ObjectionView is one objection to an appointment.
type ObjectionView struct {
	PersonID   string    `json:"person_id"`
	Name       string    `json:"name"`
	Reason     string    `json:"reason"`
	ObjectedAt time.Time `json:"objected_at"`
}

// namedAppointmentView is appointmentView with the person named and the objections.
func namedAppointmentView(ctx context.Context, tx Tx, ap *domain.Appointment) (*AppointmentView, error) {
	v := appointmentView(ap)
	obs, err := tx.Objections(ctx, ap.ID)
	if err != nil {
		return nil, err
	}
	ids := []string{ap.PersonID}
	for _, o := range obs {
		ids = append(ids, o.PersonID)
	}
	n, err := names(ctx, tx, ids...)
	if err != nil {
		return nil, err
	}
	v.PersonName = n[ap.PersonID]
	v.Objections = []ObjectionView{}
	for _, o := range obs {
		o.Name = n[o.PersonID]
		v.Objections = append(v.Objections, o)
	}
	return v, nil
}

func appointmentView(ap *domain.Appointment) *AppointmentView {
	v := &AppointmentView{ID: ap.ID, CoPID: ap.CoPID, PersonID: ap.PersonID, Status: ap.Status,
		OpenedAt: ap.OpenedAt, ConsentEndsAt: ap.ConsentEndsAt}
	if !ap.TermEndsAt.IsZero() {
		v.TermEndsAt = &ap.TermEndsAt
	}
	return v
}

// ProposeCoordinator opens a consent window for a member to coordinate the CoP: its
// coordinator, its hub, national, or a member of its working group may propose.
func (a *Application) ProposeCoordinator(ctx context.Context, c httpx.Claims, copID, personID string) (*AppointmentView, error) {
	if personID == "" {
		return nil, apperr.Invalid("person_id", "is required")
	}
	var out *AppointmentView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		cop, err := tx.CoP(ctx, copID, true)
		if err != nil {
			return nil, err
		}
		wg, err := inWorkingGroup(ctx, tx, c, copID)
		if err != nil {
			return nil, err
		}
		allowed := wg || c.IsNational() || c.IsCoordinatorOf(copID) || (cop != nil && c.IsHubOf(cop.Region)) || (cop == nil && c.Holds(httpx.RoleHub))
		if err := httpx.Authorize(c, allowed, "propose a coordinator for CoP "+copID); err != nil {
			return nil, err
		}
		if err := joinable(copID, cop); err != nil {
			return nil, err
		}
		m, err := tx.Membership(ctx, copID, personID, false)
		if err != nil {
			return nil, err
		}
		if m == nil || !m.Active {
			return nil, apperr.Unprocessable("person_id", "must be a member of CoP "+copID)
		}
		ap := domain.ProposeCoordinator(newID(), copID, personID, a.now(), a.consentWindow)
		if err := tx.AddAppointment(ctx, ap, c.Subject); err != nil {
			return nil, err
		}
		if out, err = namedAppointmentView(ctx, tx, ap); err != nil {
			return nil, err
		}
		return []events.Event{events.CoordinatorProposed{AppointmentID: ap.ID, CoPID: copID, PersonID: personID, ConsentEndsAt: ap.ConsentEndsAt}}, nil
	})
}

// Appointment shows an appointment to the CoP's members and to those who run the CoP,
// settling it first if its window has ended.
func (a *Application) Appointment(ctx context.Context, c httpx.Claims, id string) (*AppointmentView, error) {
	if err := httpx.Authorize(c, c.Signed(), "see coordinator appointments"); err != nil {
		return nil, err
	}
	var out *AppointmentView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		ap, cop, settled, err := a.loadAppointment(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		member, err := isMember(ctx, tx, c, cop.ID)
		if err != nil {
			return nil, err
		}
		if err := httpx.Authorize(c, member || runsCoP(c, cop), "see this CoP's coordinator appointments"); err != nil {
			return nil, err
		}
		out, err = namedAppointmentView(ctx, tx, ap)
		return settled, err
	})
}

// Appointments lists a CoP's latest coordinator appointments, open ones first, to its
// members and those who run it.
func (a *Application) Appointments(ctx context.Context, c httpx.Claims, copID string) ([]*AppointmentView, error) {
	if err := httpx.Authorize(c, c.Signed(), "see coordinator appointments"); err != nil {
		return nil, err
	}
	out := []*AppointmentView{}
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		member, err := isMember(ctx, tx, c, copID)
		if err != nil {
			return nil, err
		}
		if !member {
			if _, err := knownCoP(ctx, tx, c, copID, "see the coordinator appointments of CoP "+copID); err != nil {
				return nil, err
			}
		}
		aps, err := tx.Appointments(ctx, copID)
		if err != nil {
			return nil, err
		}
		for _, ap := range aps {
			v, err := namedAppointmentView(ctx, tx, ap)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return nil, nil
	})
}

// loadAppointment loads an appointment, locked, settling it first if its window has ended;
// the events are those of the settlement.
func (a *Application) loadAppointment(ctx context.Context, tx Tx, id string) (*domain.Appointment, *CoP, []events.Event, error) {
	ap, err := tx.Appointment(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	if ap == nil {
		return nil, nil, nil, apperr.NotFound("coordinator appointment %q does not exist", id)
	}
	cop, err := tx.CoP(ctx, ap.CoPID, false)
	if err != nil {
		return nil, nil, nil, err
	}
	evs, err := a.settle(ctx, tx, ap, cop)
	return ap, cop, evs, err
}

// settle decides an appointment whose window ended: the person becomes coordinator for a
// term, and whoever coordinated before stops. The events are those the decision causes.
func (a *Application) settle(ctx context.Context, tx Tx, ap *domain.Appointment, cop *CoP) ([]events.Event, error) {
	now := a.now()
	if !ap.Due(now) {
		return nil, nil
	}
	m, err := tx.Membership(ctx, ap.CoPID, ap.PersonID, true)
	if err != nil {
		return nil, err
	}
	ap.Settle(now, m != nil && m.Active && cop.Status == "approved")
	if err := tx.SaveAppointment(ctx, ap, now); err != nil {
		return nil, err
	}
	if ap.Status != domain.AppointmentAppointed {
		return nil, nil
	}
	members, err := tx.Members(ctx, ap.CoPID)
	if err != nil {
		return nil, err
	}
	var evs []events.Event
	previous := ""
	for _, other := range members {
		if other.PersonID == ap.PersonID || !slices.Contains(other.Roles, domain.RoleCoordinator) {
			continue
		}
		previous = other.PersonID
		if err := tx.SetRoles(ctx, ap.CoPID, other.PersonID, without(other.Roles, domain.RoleCoordinator), nil); err != nil {
			return nil, err
		}
		evs = append(evs, events.RoleRevoked{CoPID: ap.CoPID, PersonID: other.PersonID, Role: string(domain.RoleCoordinator)})
	}
	roles := m.Roles
	if !slices.Contains(roles, domain.RoleCoordinator) {
		roles = append(roles, domain.RoleCoordinator)
		evs = append(evs, events.RoleAssigned{CoPID: ap.CoPID, PersonID: ap.PersonID, Role: string(domain.RoleCoordinator)})
	}
	if err := tx.SetRoles(ctx, ap.CoPID, ap.PersonID, roles, &ap.TermEndsAt); err != nil {
		return nil, err
	}
	return append(evs, events.CoordinatorAppointed{AppointmentID: ap.ID, CoPID: ap.CoPID, PersonID: ap.PersonID,
		TermEndsAt: ap.TermEndsAt, PreviousPersonID: previous}), nil
}

func without(roles []domain.Role, r domain.Role) []domain.Role {
	out := []domain.Role{}
	for _, x := range roles {
		if x != r {
			out = append(out, x)
		}
	}
	return out
}

// Objection is the input of Object.
type Objection struct {
	PersonID string `json:"person_id"`
	Reason   string `json:"reason"`
}

// Object lapses an appointment in its consent window: only a working-group member of the
// CoP, speaking for themselves.
func (a *Application) Object(ctx context.Context, c httpx.Claims, id string, in Objection) (*AppointmentView, error) {
	if err := httpx.Authorize(c, in.PersonID == "" || c.IsPerson(in.PersonID), "object for another person"); err != nil {
		return nil, err
	}
	var v apperr.Validator
	v.Check(in.PersonID != "", "person_id", "is required")
	v.Check(strings.TrimSpace(in.Reason) != "" && len(in.Reason) <= 2000, "reason", "is required (at most 2000 characters)")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *AppointmentView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		// A settlement here is undone with the refusal that follows: the appointment
		// is no longer open to objection.
		ap, _, settled, err := a.loadAppointment(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		wg, err := inWorkingGroup(ctx, tx, c, ap.CoPID)
		if err != nil {
			return nil, err
		}
		if err := httpx.Authorize(c, wg, "object: only working-group members of the CoP may"); err != nil {
			return nil, err
		}
		now := a.now()
		if err := ap.Object(now); err != nil {
			return nil, domainError(err)
		}
		if err := tx.AddObjection(ctx, ap.ID, in.PersonID, strings.TrimSpace(in.Reason), now); err != nil {
			return nil, err
		}
		if err := tx.SaveAppointment(ctx, ap, now); err != nil {
			return nil, err
		}
		out, err = namedAppointmentView(ctx, tx, ap)
		return settled, err
	})
}

// tracer names membership's own spans; the provider is the process's (telemetry sets it).
var tracer = otel.Tracer("github.com/copnet/copnet/services/membership")

// sweepContext starts a span and a correlation id for work no request asked for, so the
// events it publishes carry trace context like every other event and can be followed.
func sweepContext(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	id := httpx.NewCorrelationID()
	ctx, span := tracer.Start(httpx.WithCorrelationID(ctx, id), name,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(append(attrs, attribute.String("copnet.correlation_id", id))...))
	return ctx, span
}

// SettleDue decides every appointment whose window has ended and ends every coordinator's
// term that has run out, so the outcome does not wait for someone to look. Each settlement
// runs under its own span and correlation id.
func (a *Application) SettleDue(ctx context.Context) error {
	var due []string
	err := a.inTx(ctx, func(tx Tx) (_ []events.Event, err error) {
		due, err = tx.DueAppointments(ctx, a.now())
		return nil, err
	})
	if err != nil {
		return err
	}
	for _, id := range due {
		if err := a.settleOne(ctx, id); err != nil {
			return err
		}
	}
	return a.endTerms(ctx)
}

// endTerms takes the coordinator role from those whose term ended. Most sweeps find none,
// so it looks first and opens a span (whose trace context the events carry) only when
// there is work; the terms are then read again, locked, in the transaction that ends them.
func (a *Application) endTerms(ctx context.Context) error {
	var found bool
	err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		expired, err := tx.ExpiredCoordinators(ctx, a.now())
		found = len(expired) > 0
		return nil, err
	})
	if err != nil || !found {
		return err
	}
	ctx, span := sweepContext(ctx, "end coordinator terms")
	defer span.End()
	return a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		expired, err := tx.ExpiredCoordinators(ctx, a.now())
		if err != nil {
			return nil, err
		}
		var evs []events.Event
		for _, m := range expired {
			if err := tx.SetRoles(ctx, m.CoPID, m.PersonID, without(m.Roles, domain.RoleCoordinator), nil); err != nil {
				return nil, err
			}
			evs = append(evs, events.RoleRevoked{CoPID: m.CoPID, PersonID: m.PersonID, Role: string(domain.RoleCoordinator)})
		}
		return evs, nil
	})
}

func (a *Application) settleOne(ctx context.Context, id string) error {
	ctx, span := sweepContext(ctx, "settle coordinator appointment", attribute.String("copnet.appointment_id", id))
	defer span.End()
	err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		_, _, settled, err := a.loadAppointment(ctx, tx, id)
		return settled, err
	})
	if err != nil {
		span.RecordError(err)
	}
	return err
}
