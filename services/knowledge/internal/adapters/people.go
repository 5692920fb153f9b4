package adapters

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/knowledge/domain"
)

// Expertise is a person's declared expertise.
type Expertise struct {
	ID         string    `json:"id"`
	PersonID   string    `json:"person_id"`
	CoPID      string    `json:"cop_id,omitempty"`
	Region     string    `json:"region,omitempty"`
	Topics     []string  `json:"topics"`
	Level      string    `json:"level"`
	Visibility string    `json:"visibility"`
	CreatedAt  time.Time `json:"created_at"`
}

// DeclareExpertise stores a person's expertise (replacing what they declared from the same
// CoP before), publishes expertise_declared, and retires the region's gaps it fills.
func (r *Repository) DeclareExpertise(ctx context.Context, e *Expertise) error {
	e.CreatedAt = r.now()
	return r.tx(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		tax, err := taxonomy(ctx, tx, e.Topics)
		if err != nil {
			return nil, err
		}
		e.Topics = tax.Canonical(e.Topics)
		err = tx.QueryRow(ctx, `INSERT INTO expertise (id, person_id, cop_id, region, topics, level, visibility, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT ON CONSTRAINT expertise_person_cop DO UPDATE
			SET topics = excluded.topics, level = excluded.level, visibility = excluded.visibility,
			region = excluded.region, created_at = excluded.created_at RETURNING id`,
			e.ID, e.PersonID, e.CoPID, e.Region, e.Topics, e.Level, e.Visibility, e.CreatedAt).Scan(&e.ID)
		if err != nil {
			return nil, err
		}
		evs := []events.Event{events.ExpertiseDeclared{ExpertiseID: e.ID, PersonID: e.PersonID, Topics: e.Topics,
			Level: e.Level, Visibility: e.Visibility, Region: e.Region}}
		// Declared without a CoP, the expertise is supply wherever the person is a member.
		regions := []string{e.Region}
		if e.Region == "" {
			if err := tx.QueryRow(ctx, "SELECT coalesce(array_agg(DISTINCT region), '{}') FROM members WHERE person_id = $1 AND active",
				e.PersonID).Scan(&regions); err != nil {
				return nil, err
			}
		}
		for _, region := range regions {
			gaps, err := r.refreshGaps(ctx, tx, region, e.Topics)
			if err != nil {
				return nil, err
			}
			evs = append(evs, gaps...)
		}
		return evs, nil
	})
}

// Request is a request for information and the experts it was routed to.
type Request struct {
	ID        string     `json:"id"`
	CoPID     string     `json:"cop_id"`
	Region    string     `json:"region"`
	PersonID  string     `json:"person_id,omitempty"`
	Topics    []string   `json:"topics"`
	Question  string     `json:"question"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	Experts   []Matched  `json:"experts"`
}

// Matched is an expert a request was routed to.
type Matched struct {
	PersonID    string   `json:"person_id"`
	ExpertiseID string   `json:"expertise_id"`
	Proximity   string   `json:"proximity"`
	Level       string   `json:"level"`
	Topics      []string `json:"topics"`
}

// RaiseRequest stores a request with the experts it matches (nearest first), publishes
// request_raised and any gap the new demand opens.
func (r *Repository) RaiseRequest(ctx context.Context, q *Request) error {
	q.CreatedAt, q.Status = r.now(), "open"
	return r.tx(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		tax, err := taxonomy(ctx, tx, q.Topics)
		if err != nil {
			return nil, err
		}
		q.Topics = tax.Canonical(q.Topics)
		// Only experts who are still members where they declared from are offered; one who
		// declared without a CoP is placed in the asker's region when they are a member there.
		rows, err := tx.Query(ctx, `SELECT e.id, e.person_id, e.cop_id,
			CASE WHEN e.cop_id = '' AND EXISTS (SELECT 1 FROM members m WHERE m.person_id = e.person_id AND m.active AND m.region = $2)
				THEN $2 ELSE e.region END,
			e.topics, e.level, e.visibility
			FROM expertise e WHERE e.topics && $1 AND (e.cop_id = ''
				OR EXISTS (SELECT 1 FROM members m WHERE m.person_id = e.person_id AND m.cop_id = e.cop_id AND m.active))`, q.Topics, q.Region)
		if err != nil {
			return nil, err
		}
		var experts []domain.Expert
		var e domain.Expert
		if _, err := pgx.ForEachRow(rows, []any{&e.ExpertiseID, &e.PersonID, &e.CoPID, &e.Region, &e.Topics, &e.Level, &e.Visibility}, func() error {
			experts = append(experts, e)
			return nil
		}); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO requests (id, cop_id, region, person_id, topics, question, status, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, q.ID, q.CoPID, q.Region, q.PersonID, q.Topics, q.Question, q.Status, q.CreatedAt); err != nil {
			return nil, err
		}
		q.Experts = []Matched{}
		for i, m := range domain.MatchExperts(q.PersonID, q.CoPID, q.Region, q.Topics, experts) {
			if _, err := tx.Exec(ctx, `INSERT INTO request_matches (request_id, person_id, expertise_id, proximity, rank)
				VALUES ($1,$2,$3,$4,$5)`, q.ID, m.PersonID, m.ExpertiseID, m.Proximity, i); err != nil {
				return nil, err
			}
			q.Experts = append(q.Experts, Matched{PersonID: m.PersonID, ExpertiseID: m.ExpertiseID,
				Proximity: string(m.Proximity), Level: m.Level, Topics: m.Topics})
		}
		evs := []events.Event{events.RequestRaised{RequestID: q.ID, CoPID: q.CoPID, Region: q.Region, Topics: q.Topics}}
		gaps, err := r.refreshGaps(ctx, tx, q.Region, q.Topics)
		return append(evs, gaps...), err
	})
}

// RequestAccess is what authorising a change to a request looks at.
type RequestAccess struct {
	CoPID, Region, PersonID, Status string
	// Matched: the caller is one of the experts the request was routed to, and still a
	// member of the CoP they declared that expertise from.
	Matched bool
}

// lockRequest loads a request under a row lock for caller and lets authorize judge it.
func lockRequest(ctx context.Context, tx pgx.Tx, id, caller string, authorize func(RequestAccess) error) (RequestAccess, []string, error) {
	var a RequestAccess
	var person *string
	var topics []string
	err := tx.QueryRow(ctx, `SELECT cop_id, region, person_id, status, topics,
		EXISTS (SELECT 1 FROM request_matches m JOIN expertise e ON e.id = m.expertise_id
			WHERE m.request_id = r.id AND m.person_id = $2 AND (e.cop_id = ''
				OR EXISTS (SELECT 1 FROM members mb WHERE mb.person_id = e.person_id AND mb.cop_id = e.cop_id AND mb.active)))
		FROM requests r WHERE id = $1 FOR UPDATE`, id, caller).Scan(&a.CoPID, &a.Region, &person, &a.Status, &topics, &a.Matched)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, nil, apperr.NotFound("request %q does not exist", id)
	}
	if err != nil {
		return a, nil, err
	}
	if person != nil {
		a.PersonID = *person
	}
	return a, topics, authorize(a)
}

// Answer is an answer to a request.
type Answer struct {
	ID        string    `json:"id"`
	RequestID string    `json:"request_id"`
	PersonID  string    `json:"person_id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// AnswerRequest stores an answer to an open request and publishes request_answered.
func (r *Repository) AnswerRequest(ctx context.Context, ans *Answer, authorize func(RequestAccess) error) error {
	ans.CreatedAt = r.now()
	return r.tx(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		a, _, err := lockRequest(ctx, tx, ans.RequestID, ans.PersonID, authorize)
		if err != nil {
			return nil, err
		}
		if a.Status != "open" {
			return nil, apperr.Conflict("request %s is closed", ans.RequestID)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO answers (id, request_id, person_id, body, created_at) VALUES ($1,$2,$3,$4,$5)`,
			ans.ID, ans.RequestID, ans.PersonID, ans.Body, ans.CreatedAt); err != nil {
			return nil, err
		}
		return []events.Event{events.RequestAnswered{RequestID: ans.RequestID, AnswerID: ans.ID}}, nil
	})
}

// CloseRequest closes an open request; its topics stop counting as demand.
func (r *Repository) CloseRequest(ctx context.Context, id, caller string, authorize func(RequestAccess) error) error {
	return r.tx(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		a, topics, err := lockRequest(ctx, tx, id, caller, authorize)
		if err != nil {
			return nil, err
		}
		if a.Status != "open" {
			return nil, apperr.Conflict("request %s is already closed", id)
		}
		if _, err := tx.Exec(ctx, "UPDATE requests SET status = 'closed', closed_at = $2 WHERE id = $1", id, r.now()); err != nil {
			return nil, err
		}
		return r.refreshGaps(ctx, tx, a.Region, topics)
	})
}

// ErasePerson scrubs a person (person_erased): their expertise and memberships go, their
// requests and answers lose the link to them and their words; topics stay as anonymous
// demand.
func (r *Repository) ErasePerson(ctx context.Context, tx pgx.Tx, person string) error {
	// Remembered first, so that a member_joined arriving after this cannot write the id
	// again (ApplyMembership); the memberships known go with the person.
	if _, err := tx.Exec(ctx, "INSERT INTO erased (person_hash) VALUES ($1) ON CONFLICT DO NOTHING", personHash(person)); err != nil {
		return err
	}
	var regions []string
	if err := tx.QueryRow(ctx, `WITH gone AS (DELETE FROM members WHERE person_id = $1 RETURNING region, active)
		SELECT coalesce(array_agg(DISTINCT region) FILTER (WHERE active), '{}') FROM gone`, person).Scan(&regions); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, "DELETE FROM expertise WHERE person_id = $1 RETURNING region, topics", person)
	if err != nil {
		return err
	}
	type supply struct {
		region string
		topics []string
	}
	var lost []supply
	var s supply
	if _, err := pgx.ForEachRow(rows, []any{&s.region, &s.topics}, func() error {
		lost = append(lost, s)
		return nil
	}); err != nil {
		return err
	}
	for _, q := range []string{
		"DELETE FROM request_matches WHERE person_id = $1",
		"UPDATE requests SET person_id = NULL, question = '' WHERE person_id = $1",
		"UPDATE answers SET person_id = NULL, body = '' WHERE person_id = $1",
	} {
		if _, err := tx.Exec(ctx, q, person); err != nil {
			return err
		}
	}
	var evs []events.Event
	for _, s := range lost {
		// Expertise declared without a CoP was supply wherever the person was a member.
		in := []string{s.region}
		if s.region == "" {
			in = regions
		}
		for _, region := range in {
			gaps, err := r.refreshGaps(ctx, tx, region, s.topics)
			if err != nil {
				return err
			}
			evs = append(evs, gaps...)
		}
	}
	if len(evs) == 0 {
		return nil
	}
	return r.outbox.Publish(ctx, tx, evs...)
}
