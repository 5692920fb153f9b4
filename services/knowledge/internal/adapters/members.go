package adapters

import (
	"context"
	"crypto/sha256"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/events"
)

// Membership is one member_joined or member_left, as the envelope dates it.
type Membership struct {
	CoPID, PersonID, Region string
	Active                  bool
	Envelope                events.Envelope
}

// personHash is how an erased person is remembered: enough to recognise a late event about
// them, not their id.
func personHash(person string) []byte {
	h := sha256.Sum256([]byte("copnet-erased:" + person))
	return h[:]
}

// isErased reports whether person_erased was applied for person.
func isErased(ctx context.Context, q querier, person string) (bool, error) {
	var erased bool
	err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM erased WHERE person_hash = $1)", personHash(person)).Scan(&erased)
	return erased, err
}

// ApplyMembership records a membership change (member_joined, member_left) unless a later
// one of the same membership was applied already: the two events reach separate durable
// consumers in any order, and redeliveries come late. The envelope's time orders them, its
// id breaks ties. A person erased is never written again. The person's declared expertise
// moves with their memberships, so the gaps of the CoP's region are judged again.
func (r *Repository) ApplyMembership(ctx context.Context, tx pgx.Tx, m Membership) error {
	if erased, err := isErased(ctx, tx, m.PersonID); err != nil || erased {
		return err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO members (cop_id, person_id, region, active, version, event_id)
		VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (cop_id, person_id) DO UPDATE
		SET region = excluded.region, active = excluded.active, version = excluded.version, event_id = excluded.event_id
		WHERE (members.version, members.event_id) < (excluded.version, excluded.event_id)`,
		m.CoPID, m.PersonID, m.Region, m.Active, m.Envelope.Time, m.Envelope.ID)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	var topics []string
	if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT t), '{}') FROM expertise e, unnest(e.topics) t
		WHERE e.person_id = $1 AND e.cop_id IN ($2, '')`, m.PersonID, m.CoPID).Scan(&topics); err != nil {
		return err
	}
	return r.publishGaps(ctx, tx, m.Region, topics)
}

// IsMember reports whether person is a current member of cop.
func (r *Repository) IsMember(ctx context.Context, person, cop string) (bool, error) {
	var ok bool
	err := r.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM members WHERE person_id = $1 AND cop_id = $2 AND active)",
		person, cop).Scan(&ok)
	return ok, err
}

// IsMemberAnywhere reports whether person is a current member of any CoP.
func (r *Repository) IsMemberAnywhere(ctx context.Context, person string) (bool, error) {
	var ok bool
	err := r.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM members WHERE person_id = $1 AND active)", person).Scan(&ok)
	return ok, err
}
