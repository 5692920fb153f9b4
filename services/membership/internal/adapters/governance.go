package adapters

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/membership/domain"
	"github.com/copnet/copnet/services/membership/internal/app"
)

// AddAppointment stores a new consent window; a CoP has one open at a time (409).
func (t *Tx) AddAppointment(ctx context.Context, a *domain.Appointment, proposedBy string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO appointments (id, cop_id, person_id, proposed_by, opened_at,
		consent_ends_at, status) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		a.ID, a.CoPID, a.PersonID, proposedBy, a.OpenedAt, a.ConsentEndsAt, a.Status)
	if postgres.IsUniqueViolation(err, "appointments_one_open") {
		return apperr.Conflict("CoP %s already has a coordinator appointment in its consent window", a.CoPID)
	}
	return err
}

// Appointment loads one appointment, locked for a decision; nil when unknown.
func (t *Tx) Appointment(ctx context.Context, id string) (*domain.Appointment, error) {
	var a domain.Appointment
	var term *time.Time
	err := t.tx.QueryRow(ctx, `SELECT id, cop_id, person_id, opened_at, consent_ends_at, status, term_ends_at
		FROM appointments WHERE id = $1 FOR UPDATE`, id).
		Scan(&a.ID, &a.CoPID, &a.PersonID, &a.OpenedAt, &a.ConsentEndsAt, &a.Status, &term)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if term != nil {
		a.TermEndsAt = *term
	}
	return &a, err
}

// SaveAppointment records an appointment's decision.
func (t *Tx) SaveAppointment(ctx context.Context, a *domain.Appointment, now time.Time) error {
	var term *time.Time
	if !a.TermEndsAt.IsZero() {
		term = &a.TermEndsAt
	}
	_, err := t.tx.Exec(ctx, `UPDATE appointments SET status = $2, term_ends_at = $3, settled_at = $4 WHERE id = $1`,
		a.ID, a.Status, term, now)
	return err
}

// AddObjection keeps an objection (the audit trail of why an appointment lapsed).
func (t *Tx) AddObjection(ctx context.Context, appointmentID, personID, reason string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO objections (appointment_id, person_id, reason, objected_at)
		VALUES ($1,$2,$3,$4)`, appointmentID, personID, reason, now)
	return err
}

// DueAppointments lists open appointments whose window ended by now.
func (t *Tx) DueAppointments(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT id FROM appointments WHERE status = 'open' AND consent_ends_at <= $1
		ORDER BY consent_ends_at LIMIT 100`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// AddRemoval stores a new removal proposal; one open proposal per member (409).
func (t *Tx) AddRemoval(ctx context.Context, r *domain.Removal, now time.Time) error {
	var closed *time.Time
	if r.Status != domain.RemovalOpen {
		closed = &now
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO removals (id, cop_id, person_id, proposed_by, reason, electorate,
		status, opened_at, closed_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		r.ID, r.CoPID, r.Subject, r.ProposedBy, r.Reason, r.Electorate, r.Status, now, closed)
	if postgres.IsUniqueViolation(err, "removals_one_open") {
		return apperr.Conflict("a removal of %s is already open in CoP %s", r.Subject, r.CoPID)
	}
	return err
}

// Removal loads one removal and its votes, locked so that votes are counted one at a
// time; nil when unknown.
func (t *Tx) Removal(ctx context.Context, id string) (*app.RemovalRecord, error) {
	r := &app.RemovalRecord{Removal: &domain.Removal{Votes: map[string]bool{}}}
	err := t.tx.QueryRow(ctx, `SELECT id, cop_id, person_id, proposed_by, reason, electorate, status,
		opened_at, closed_at FROM removals WHERE id = $1 FOR UPDATE`, id).
		Scan(&r.ID, &r.CoPID, &r.Subject, &r.ProposedBy, &r.Reason, &r.Electorate, &r.Status, &r.OpenedAt, &r.ClosedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, "SELECT voter_id, support, cast_at FROM removal_votes WHERE removal_id = $1 ORDER BY cast_at, voter_id", id)
	if err != nil {
		return nil, err
	}
	r.Ballots, err = pgx.CollectRows(rows, pgx.RowToStructByPos[app.RecordedBallot])
	if err != nil {
		return nil, err
	}
	if r.Ballots == nil {
		r.Ballots = []app.RecordedBallot{}
	}
	for _, b := range r.Ballots {
		r.Votes[b.VoterID] = b.Support
	}
	return r, nil
}

// AddVote records a vote and, when it decided the removal, its new status.
func (t *Tx) AddVote(ctx context.Context, r *app.RemovalRecord, voter string, support bool, now time.Time) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO removal_votes (removal_id, voter_id, support, cast_at)
		VALUES ($1,$2,$3,$4)`, r.ID, voter, support, now); err != nil {
		return err
	}
	r.Ballots = append(r.Ballots, app.RecordedBallot{VoterID: voter, Support: support, CastAt: now})
	if r.Status == domain.RemovalOpen {
		return nil
	}
	r.ClosedAt = &now
	_, err := t.tx.Exec(ctx, "UPDATE removals SET status = $2, closed_at = $3 WHERE id = $1", r.ID, r.Status, now)
	return err
}

// Removals lists a CoP's latest removals, open ones first, without names.
func (t *Tx) Removals(ctx context.Context, copID string) ([]app.RemovalSummary, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, person_id, '', status, opened_at, closed_at FROM removals
		WHERE cop_id = $1 ORDER BY status = 'open' DESC, opened_at DESC LIMIT 20`, copID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[app.RemovalSummary])
}

// Appointments lists a CoP's latest coordinator appointments, open ones first.
func (t *Tx) Appointments(ctx context.Context, copID string) ([]*domain.Appointment, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, cop_id, person_id, opened_at, consent_ends_at, status,
		coalesce(term_ends_at, '0001-01-01T00:00:00Z') FROM appointments
		WHERE cop_id = $1 ORDER BY status = 'open' DESC, opened_at DESC LIMIT 10`, copID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToAddrOfStructByPos[domain.Appointment])
}

// Objections lists the objections to an appointment, oldest first, without names.
func (t *Tx) Objections(ctx context.Context, appointmentID string) ([]app.ObjectionView, error) {
	rows, err := t.tx.Query(ctx, `SELECT person_id, '', reason, objected_at FROM objections
		WHERE appointment_id = $1 ORDER BY objected_at, person_id`, appointmentID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[app.ObjectionView])
}
