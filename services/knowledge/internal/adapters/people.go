package adapters

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/knowledge/domain"
	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// DeclareExpertise stores a person's expertise (replacing what they declared from the same
// CoP before, whose id it keeps) and publishes expertise_declared.
func (r *Repository) DeclareExpertise(ctx context.Context, e *app.Expertise) error {
	e.CreatedAt = r.now()
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO expertise (id, person_id, cop_id, region, topics, level, visibility, created_at,
			name, organisation, description)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT ON CONSTRAINT expertise_person_cop DO UPDATE
			SET topics = excluded.topics, level = excluded.level, visibility = excluded.visibility,
			region = excluded.region, created_at = excluded.created_at,
			name = excluded.name, organisation = excluded.organisation, description = excluded.description RETURNING id`,
			e.ID, e.PersonID, e.CoPID, e.Region, e.Topics, e.Level, e.Visibility, e.CreatedAt,
			e.Name, e.Organisation, e.Description).Scan(&e.ID)
		if err != nil {
			return err
		}
		return r.publish(ctx, tx, events.ExpertiseDeclared{ExpertiseID: e.ID, PersonID: e.PersonID, Topics: e.Topics,
			Level: e.Level, Visibility: e.Visibility, Region: e.Region})
	})
}

// Experts lists the expertise on any of topics that may be offered to a request in
// region: only experts who are still members where they declared from; one who declared
// without a CoP is placed in region when they are a member there.
func (r *Repository) Experts(ctx context.Context, topics []string, region string) ([]domain.Expert, error) {
	rows, err := r.q(ctx).Query(ctx, `SELECT e.id, e.person_id, e.cop_id,
		CASE WHEN e.cop_id = '' AND EXISTS (SELECT 1 FROM members m WHERE m.person_id = e.person_id AND m.active AND m.region = $2)
			THEN $2 ELSE e.region END,
		e.topics, e.level, e.visibility
		FROM expertise e WHERE e.topics && $1 AND (e.cop_id = ''
			OR EXISTS (SELECT 1 FROM members m WHERE m.person_id = e.person_id AND m.cop_id = e.cop_id AND m.active))`, topics, region)
	if err != nil {
		return nil, err
	}
	var experts []domain.Expert
	var e domain.Expert
	_, err = pgx.ForEachRow(rows, []any{&e.ExpertiseID, &e.PersonID, &e.CoPID, &e.Region, &e.Topics, &e.Level, &e.Visibility}, func() error {
		experts = append(experts, e)
		return nil
	})
	return experts, err
}

// RaiseRequest stores a request with the experts it was routed to (in their order) and
// publishes request_raised.
func (r *Repository) RaiseRequest(ctx context.Context, q *app.Request) error {
	q.CreatedAt = r.now()
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO requests (id, cop_id, region, person_id, topics, question, status, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, q.ID, q.CoPID, q.Region, q.PersonID, q.Topics, q.Question, q.Status, q.CreatedAt); err != nil {
			return err
		}
		for i, m := range q.Experts {
			if _, err := tx.Exec(ctx, `INSERT INTO request_matches (request_id, person_id, expertise_id, proximity, rank)
				VALUES ($1,$2,$3,$4,$5)`, q.ID, m.PersonID, m.ExpertiseID, m.Proximity, i); err != nil {
				return err
			}
		}
		// The people it concerns by id only (the asker, the experts it was routed to), so that
		// notify can tell them without knowledge sharing anything personal.
		routed := make([]string, 0, len(q.Experts))
		for _, m := range q.Experts {
			if !slices.Contains(routed, m.PersonID) {
				routed = append(routed, m.PersonID)
			}
		}
		return r.publish(ctx, tx, events.RequestRaised{RequestID: q.ID, CoPID: q.CoPID, Region: q.Region, Topics: q.Topics,
			AskerID: q.PersonID, RoutedTo: routed})
	})
}

// LockRequest loads a request under a row lock, as caller sees it: Matched when caller is
// one of the experts it was routed to and still a member where they declared from.
func (r *Repository) LockRequest(ctx context.Context, id, caller string) (app.RequestAccess, error) {
	var a app.RequestAccess
	var person *string
	err := r.q(ctx).QueryRow(ctx, `SELECT cop_id, region, person_id, status, topics,
		EXISTS (SELECT 1 FROM request_matches m JOIN expertise e ON e.id = m.expertise_id
			WHERE m.request_id = r.id AND m.person_id = $2 AND (e.cop_id = ''
				OR EXISTS (SELECT 1 FROM members mb WHERE mb.person_id = e.person_id AND mb.cop_id = e.cop_id AND mb.active)))
		FROM requests r WHERE id = $1 FOR UPDATE`, id, caller).Scan(&a.CoPID, &a.Region, &person, &a.Status, &a.Topics, &a.Matched)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, apperr.NotFound("request %q does not exist", id)
	}
	if err != nil {
		return a, err
	}
	if person != nil {
		a.PersonID = *person
	}
	return a, nil
}

// AnswerRequest stores an answer to a request and publishes request_answered.
func (r *Repository) AnswerRequest(ctx context.Context, ans *app.Answer) error {
	ans.CreatedAt = r.now()
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO answers (id, request_id, person_id, body, created_at) VALUES ($1,$2,$3,$4,$5)`,
			ans.ID, ans.RequestID, ans.PersonID, ans.Body, ans.CreatedAt); err != nil {
			return err
		}
		var asker *string // NULL once the asker was erased
		if err := tx.QueryRow(ctx, `SELECT person_id FROM requests WHERE id = $1`, ans.RequestID).Scan(&asker); err != nil {
			return err
		}
		ev := events.RequestAnswered{RequestID: ans.RequestID, AnswerID: ans.ID}
		if asker != nil {
			ev.AskerID = *asker
		}
		return r.publish(ctx, tx, ev)
	})
}

// CloseRequest marks a request closed.
func (r *Repository) CloseRequest(ctx context.Context, id string) error {
	_, err := r.q(ctx).Exec(ctx, "UPDATE requests SET status = 'closed', closed_at = $2 WHERE id = $1", id, r.now())
	return err
}

// ErasePerson scrubs a person (person_erased): their expertise and memberships go, their
// requests and answers lose the link to them and their words; topics stay as anonymous
// demand. It returns the supply that went and the regions the person was an active member
// in.
func (r *Repository) ErasePerson(ctx context.Context, person string) (lost []app.Supply, regions []string, err error) {
	err = postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		// Remembered first, so that a member_joined arriving after this cannot write the id
		// again (app.OnMemberJoined); the memberships known go with the person.
		if _, err := tx.Exec(ctx, "INSERT INTO erased (person_hash) VALUES ($1) ON CONFLICT DO NOTHING", personHash(person)); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `WITH gone AS (DELETE FROM members WHERE person_id = $1 RETURNING region, active)
			SELECT coalesce(array_agg(DISTINCT region) FILTER (WHERE active), '{}') FROM gone`, person).Scan(&regions); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "DELETE FROM expertise WHERE person_id = $1 RETURNING region, topics", person)
		if err != nil {
			return err
		}
		var s app.Supply
		if _, err := pgx.ForEachRow(rows, []any{&s.Region, &s.Topics}, func() error {
			lost = append(lost, s)
			return nil
		}); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM request_matches WHERE person_id = $1",
			"UPDATE requests SET person_id = NULL, question = '' WHERE person_id = $1",
			"UPDATE answers SET person_id = NULL, body = '' WHERE person_id = $1",
			// Their projects and assets stay on the map and in the library, no longer
			// linked to them, and the contact they gave goes.
			"UPDATE projects SET mapped_by = '', contact = '' WHERE mapped_by = $1",
			"UPDATE assets SET shared_by = '' WHERE shared_by = $1",
		} {
			if _, err := tx.Exec(ctx, q, person); err != nil {
				return err
			}
		}
		return nil
	})
	return lost, regions, err
}
