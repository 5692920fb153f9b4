package adapters

import (
	"context"
	"crypto/sha256"

	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// personHash is how an erased person is remembered: enough to recognise a late event about
// them, not their id.
func personHash(person string) []byte {
	h := sha256.Sum256([]byte("copnet-erased:" + person))
	return h[:]
}

// IsErased reports whether person_erased was applied for person.
func (r *Repository) IsErased(ctx context.Context, person string) (bool, error) {
	var erased bool
	err := r.q(ctx).QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM erased WHERE person_hash = $1)", personHash(person)).Scan(&erased)
	return erased, err
}

// ApplyMembership records a membership change (member_joined, member_left) unless a later
// one of the same membership was applied already, and reports whether it did: the
// membership's version and event id order the two events.
func (r *Repository) ApplyMembership(ctx context.Context, m app.Membership) (bool, error) {
	tag, err := r.q(ctx).Exec(ctx, `INSERT INTO members (cop_id, person_id, region, active, version, event_id)
		VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (cop_id, person_id) DO UPDATE
		SET region = excluded.region, active = excluded.active, version = excluded.version, event_id = excluded.event_id
		WHERE (members.version, members.event_id) < (excluded.version, excluded.event_id)`,
		m.CoPID, m.PersonID, m.Region, m.Active, m.Version, m.EventID)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// ExpertiseTopics lists the topics person declared from cop or without a CoP.
func (r *Repository) ExpertiseTopics(ctx context.Context, person, cop string) ([]string, error) {
	var topics []string
	err := r.q(ctx).QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT t), '{}') FROM expertise e, unnest(e.topics) t
		WHERE e.person_id = $1 AND e.cop_id IN ($2, '')`, person, cop).Scan(&topics)
	return topics, err
}

// IsMember reports whether person is a current member of cop.
func (r *Repository) IsMember(ctx context.Context, person, cop string) (bool, error) {
	var ok bool
	err := r.q(ctx).QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM members WHERE person_id = $1 AND cop_id = $2 AND active)",
		person, cop).Scan(&ok)
	return ok, err
}

// IsMemberAnywhere reports whether person is a current member of any CoP.
func (r *Repository) IsMemberAnywhere(ctx context.Context, person string) (bool, error) {
	var ok bool
	err := r.q(ctx).QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM members WHERE person_id = $1 AND active)", person).Scan(&ok)
	return ok, err
}

// MemberRegions lists the regions where person is a current member.
func (r *Repository) MemberRegions(ctx context.Context, person string) ([]string, error) {
	var regions []string
	err := r.q(ctx).QueryRow(ctx, "SELECT coalesce(array_agg(DISTINCT region), '{}') FROM members WHERE person_id = $1 AND active",
		person).Scan(&regions)
	return regions, err
}
