package adapters

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// Requests lists a page of the requests person raised (f.Mine) or that were routed to
// them, newest first, after f.After.
func (r *Repository) Requests(ctx context.Context, f app.RequestFilter) ([]app.RequestCard, error) {
	who := "EXISTS (SELECT 1 FROM request_matches m WHERE m.request_id = q.id AND m.person_id = $1)"
	if f.Mine {
		who = "q.person_id = $1"
	}
	args := []any{f.Person, f.Status, f.Limit}
	after := ""
	if f.After != nil {
		after = " AND (q.created_at, q.id) < ($4, $5)"
		args = append(args, f.After.At, f.After.ID)
	}
	rows, err := r.q(ctx).Query(ctx, `SELECT q.id, q.cop_id, q.region, q.topics, q.question, q.status, q.created_at, q.closed_at,
		(SELECT count(*) FROM answers a WHERE a.request_id = q.id),
		EXISTS (SELECT 1 FROM answers a WHERE a.request_id = q.id AND a.person_id = $1)
		FROM requests q WHERE `+who+` AND ($2 = '' OR q.status = $2)`+after+`
		ORDER BY q.created_at DESC, q.id DESC LIMIT $3`, args...)
	if err != nil {
		return nil, err
	}
	var out []app.RequestCard
	var c app.RequestCard
	_, err = pgx.ForEachRow(rows, []any{&c.ID, &c.CoPID, &c.Region, &c.Topics, &c.Question, &c.Status, &c.CreatedAt, &c.ClosedAt,
		&c.Answers, &c.AnsweredByMe}, func() error {
		out = append(out, c)
		return nil
	})
	return out, err
}

// ReadRequest loads a request, the experts it was routed to with their cards, and its
// answers, each answer named by the card of the routed expert who gave it.
func (r *Repository) ReadRequest(ctx context.Context, id, reader string) (app.StoredRequest, error) {
	var q app.StoredRequest
	var person *string
	err := r.q(ctx).QueryRow(ctx, `SELECT id, cop_id, region, person_id, topics, question, status, created_at, closed_at,
		EXISTS (SELECT 1 FROM request_matches m JOIN expertise e ON e.id = m.expertise_id
			WHERE m.request_id = q.id AND m.person_id = $2 AND (e.cop_id = ''
				OR EXISTS (SELECT 1 FROM members mb WHERE mb.person_id = e.person_id AND mb.cop_id = e.cop_id AND mb.active)))
		FROM requests q WHERE id = $1`, id, reader).Scan(&q.ID, &q.CoPID, &q.Region, &person, &q.Topics, &q.Question, &q.Status,
		&q.CreatedAt, &q.ClosedAt, &q.MatchedNow)
	if errors.Is(err, pgx.ErrNoRows) {
		return q, apperr.NotFound("request %q does not exist", id)
	}
	if err != nil {
		return q, err
	}
	if person != nil {
		q.PersonID = *person
	}
	rows, err := r.q(ctx).Query(ctx, `SELECT m.person_id, m.proximity, coalesce(e.name, ''), coalesce(e.organisation, ''),
		coalesce(e.description, ''), coalesce(e.level, ''), coalesce(e.topics, '{}'), e.id IS NULL
		FROM request_matches m LEFT JOIN expertise e ON e.id = m.expertise_id
		WHERE m.request_id = $1 ORDER BY m.rank`, id)
	if err != nil {
		return q, err
	}
	var e app.ExpertCard
	if _, err := pgx.ForEachRow(rows, []any{&e.PersonID, &e.Proximity, &e.Name, &e.Organisation, &e.Description, &e.Level,
		&e.Topics, &e.Withdrawn}, func() error {
		q.Experts = append(q.Experts, e)
		return nil
	}); err != nil {
		return q, err
	}
	rows, err = r.q(ctx).Query(ctx, `SELECT a.id, coalesce(a.person_id, ''), coalesce(e.name, ''), coalesce(e.organisation, ''),
		a.body, a.created_at
		FROM answers a LEFT JOIN request_matches m ON m.request_id = a.request_id AND m.person_id = a.person_id
		LEFT JOIN expertise e ON e.id = m.expertise_id
		WHERE a.request_id = $1 ORDER BY a.created_at, a.id`, id)
	if err != nil {
		return q, err
	}
	var a app.AnswerView
	_, err = pgx.ForEachRow(rows, []any{&a.ID, &a.PersonID, &a.Name, &a.Organisation, &a.Body, &a.CreatedAt}, func() error {
		q.Answers = append(q.Answers, a)
		return nil
	})
	return q, err
}

const expertiseColumns = `id, person_id, cop_id, region, topics, level, visibility, name, organisation, description, created_at`

func expertiseFields(e *app.Expertise) []any {
	return []any{&e.ID, &e.PersonID, &e.CoPID, &e.Region, &e.Topics, &e.Level, &e.Visibility, &e.Name, &e.Organisation,
		&e.Description, &e.CreatedAt}
}

// ExpertiseOf lists person's declarations, newest first.
func (r *Repository) ExpertiseOf(ctx context.Context, person string) ([]app.Expertise, error) {
	rows, err := r.q(ctx).Query(ctx, `SELECT `+expertiseColumns+` FROM expertise WHERE person_id = $1
		ORDER BY created_at DESC, id DESC`, person)
	if err != nil {
		return nil, err
	}
	var out []app.Expertise
	var e app.Expertise
	_, err = pgx.ForEachRow(rows, expertiseFields(&e), func() error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// WithdrawExpertise deletes a declaration under a row lock once authorize has seen it.
func (r *Repository) WithdrawExpertise(ctx context.Context, id string, authorize func(app.Expertise) error) (app.Expertise, error) {
	var e app.Expertise
	err := r.q(ctx).QueryRow(ctx, `SELECT `+expertiseColumns+` FROM expertise WHERE id = $1 FOR UPDATE`, id).Scan(expertiseFields(&e)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, apperr.NotFound("expertise %q does not exist", id)
	}
	if err != nil {
		return e, err
	}
	if err := authorize(e); err != nil {
		return e, err
	}
	_, err = r.q(ctx).Exec(ctx, "DELETE FROM expertise WHERE id = $1", id)
	return e, err
}
