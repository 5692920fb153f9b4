// Package adapters keeps the feedback service's state in PostgreSQL. Every change commits
// together with the events it causes (the outbox).
package adapters

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/feedback/domain"
)

// Repository stores polls, ballots, responses, assessments and the projections of other
// services' events that the feedback service needs.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *bus.Outbox
}

// NewRepository returns a repository writing events through outbox.
func NewRepository(pool *pgxpool.Pool, outbox *bus.Outbox) *Repository {
	return &Repository{pool: pool, outbox: outbox}
}

// Projections, applied inside the consumer's transaction.

// PutCoP records an approved CoP's region.
func (r *Repository) PutCoP(ctx context.Context, tx pgx.Tx, id, region string) error {
	_, err := tx.Exec(ctx, `INSERT INTO cops (id, region) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET region = excluded.region`, id, region)
	return err
}

// AddMember records that person belongs to cop. member_joined also carries the region, so
// the CoP is known even when its cop_approved is consumed later.
func (r *Repository) AddMember(ctx context.Context, tx pgx.Tx, cop, region, person string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO cops (id, region) VALUES ($1, $2) ON CONFLICT DO NOTHING`, cop, region); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO members (cop_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, cop, person)
	return err
}

// RemoveMember forgets that person belongs to cop. Ballots already issued stay valid.
func (r *Repository) RemoveMember(ctx context.Context, tx pgx.Tx, cop, person string) error {
	_, err := tx.Exec(ctx, `DELETE FROM members WHERE cop_id = $1 AND person_id = $2`, cop, person)
	return err
}

// ErasePerson removes every trace of person: memberships and ballot issuance records.
// Responses never held the person, so they stay.
func (r *Repository) ErasePerson(ctx context.Context, tx pgx.Tx, person string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM members WHERE person_id = $1`, person); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM ballots_issued WHERE person_id = $1`, person)
	return err
}

// CoPRegion returns the region of an approved CoP, and false when the CoP is unknown.
func (r *Repository) CoPRegion(ctx context.Context, id string) (string, bool, error) {
	var region string
	err := r.pool.QueryRow(ctx, `SELECT region FROM cops WHERE id = $1`, id).Scan(&region)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return region, err == nil, err
}

// IsMember reports whether person belongs to cop.
func (r *Repository) IsMember(ctx context.Context, cop, person string) (bool, error) {
	var ok bool
	err := r.pool.QueryRow(ctx, `SELECT EXISTS(SELECT 1 FROM members WHERE cop_id = $1 AND person_id = $2)`, cop, person).Scan(&ok)
	return ok, err
}

// Polls.

const pollColumns = `id, code, cop_id, session_id, kind, purpose, audience, questions, min_responses,
	secret, opened_at, closes_at, closed_at`

func scanPoll(row pgx.Row) (*domain.Poll, error) {
	var p domain.Poll
	var questions []byte
	err := row.Scan(&p.ID, &p.Code, &p.CoPID, &p.SessionID, &p.Kind, &p.Purpose, &p.Audience, &questions,
		&p.MinResponses, &p.Secret, &p.OpenedAt, &p.ClosesAt, &p.ClosedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(questions, &p.Questions); err != nil {
		return nil, fmt.Errorf("poll %s questions: %w", p.ID, err)
	}
	return &p, nil
}

func notFound(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.NotFound(format, args...)
	}
	return err
}

// Poll loads one poll.
func (r *Repository) Poll(ctx context.Context, id string) (*domain.Poll, error) {
	p, err := scanPoll(r.pool.QueryRow(ctx, "SELECT "+pollColumns+" FROM polls WHERE id = $1", id))
	return p, notFound(err, "poll %q does not exist", id)
}

// PollByCode loads the open-audience poll shown in a room under code.
func (r *Repository) PollByCode(ctx context.Context, code string) (*domain.Poll, error) {
	p, err := scanPoll(r.pool.QueryRow(ctx, "SELECT "+pollColumns+" FROM polls WHERE code = $1 AND audience = $2",
		code, domain.AudienceOpen))
	return p, notFound(err, "no open poll has code %q", code)
}

// SessionPoll loads the evaluation or check-in opened for a session.
func (r *Repository) SessionPoll(ctx context.Context, session, purpose string) (*domain.Poll, error) {
	p, err := scanPoll(r.pool.QueryRow(ctx, "SELECT "+pollColumns+" FROM polls WHERE session_id = $1 AND purpose = $2",
		session, purpose))
	return p, notFound(err, "session %q has no %s", session, purpose)
}

// PollsOf lists a CoP's polls, oldest first; purpose "" lists every purpose.
func (r *Repository) PollsOf(ctx context.Context, cop, purpose string) ([]*domain.Poll, error) {
	rows, err := r.pool.Query(ctx, "SELECT "+pollColumns+` FROM polls WHERE cop_id = $1 AND ($2 = '' OR purpose = $2)
		ORDER BY opened_at, id`, cop, purpose)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*domain.Poll{}
	for rows.Next() {
		p, err := scanPoll(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// codeAlphabet leaves out characters a room misreads on a screen (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

func newCode() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// CreatePoll stores a poll a coordinator opened and publishes poll_opened.
func (r *Repository) CreatePoll(ctx context.Context, p *domain.Poll) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		opened, err := r.insertPoll(ctx, tx, p)
		if err != nil {
			return err
		}
		if !opened {
			return fmt.Errorf("poll %s was not stored", p.ID)
		}
		return r.outbox.Publish(ctx, tx, openedEvent(p))
	})
}

// OpenForSession stores an evaluation or check-in inside the consumer's transaction,
// unless the session already has one; it reports whether it opened a poll.
func (r *Repository) OpenForSession(ctx context.Context, tx pgx.Tx, p *domain.Poll) (bool, error) {
	opened, err := r.insertPoll(ctx, tx, p)
	if err != nil || !opened {
		return false, err
	}
	return true, r.outbox.Publish(ctx, tx, openedEvent(p))
}

func openedEvent(p *domain.Poll) events.PollOpened {
	return events.PollOpened{PollID: p.ID, CoPID: p.CoPID, SessionID: p.SessionID, Kind: p.Kind, Purpose: p.Purpose}
}

// insertPoll stores p under a fresh room code. It reports false when the session already
// has a poll of p's purpose. ON CONFLICT keeps the transaction usable whichever unique
// index is hit, so a code collision is simply retried with another code.
func (r *Repository) insertPoll(ctx context.Context, tx pgx.Tx, p *domain.Poll) (bool, error) {
	questions, err := json.Marshal(p.Questions)
	if err != nil {
		return false, err
	}
	for range 10 {
		p.Code = newCode()
		tag, err := tx.Exec(ctx, `INSERT INTO polls (id, code, cop_id, session_id, kind, purpose, audience,
			questions, min_responses, secret, opened_at, closes_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
			ON CONFLICT DO NOTHING`,
			p.ID, p.Code, p.CoPID, p.SessionID, p.Kind, p.Purpose, p.Audience, questions, p.MinResponses,
			p.Secret, p.OpenedAt, p.ClosesAt)
		if err != nil {
			return false, err
		}
		if tag.RowsAffected() == 1 {
			return true, nil
		}
		if p.SessionID != "" {
			var exists bool
			err := tx.QueryRow(ctx, `SELECT EXISTS(SELECT 1 FROM polls WHERE session_id = $1 AND purpose = $2)`,
				p.SessionID, p.Purpose).Scan(&exists)
			if err != nil || exists {
				return false, err
			}
		}
	}
	return false, errors.New("no free poll code after 10 tries")
}

// lockOpen locks the poll against closing while an answer or ballot is recorded, and
// refuses when it no longer takes answers at now.
func lockOpen(ctx context.Context, tx pgx.Tx, id string, now time.Time) error {
	p, err := scanPoll(tx.QueryRow(ctx, "SELECT "+pollColumns+" FROM polls WHERE id = $1 FOR SHARE", id))
	if err != nil {
		return notFound(err, "poll %q does not exist", id)
	}
	if p.Closed(now) {
		return apperr.Conflict("the poll is closed")
	}
	return nil
}

// IssueBallot records that person got a ballot for the poll; a second one is refused.
func (r *Repository) IssueBallot(ctx context.Context, pollID, person string, now time.Time) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if err := lockOpen(ctx, tx, pollID, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO ballots_issued (poll_id, person_id) VALUES ($1, $2)`, pollID, person)
		if postgres.IsUniqueViolation(err, "") {
			return apperr.Conflict("a ballot for this poll was already issued to you")
		}
		return err
	})
}

// Used is where a response's single-use token is remembered.
type Used string

// The tables of single-use tokens.
const (
	UsedBallot Used = "ballots_cast (poll_id, ballot_hash)"
	UsedDevice Used = "devices_used (poll_id, device_hash)"
)

// Respond stores an answer, spending its ballot or device token (hash); a token already
// spent is refused and nothing is stored.
func (r *Repository) Respond(ctx context.Context, pollID string, used Used, hash []byte, a domain.Answer, now time.Time) error {
	answer, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if err := lockOpen(ctx, tx, pollID, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+string(used)+" VALUES ($1, $2)", pollID, hash)
		if postgres.IsUniqueViolation(err, "") {
			if used == UsedBallot {
				return apperr.Conflict("this ballot has already been used")
			}
			return apperr.Conflict("this device has already answered this poll")
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO responses (poll_id, answer) VALUES ($1, $2)`, pollID, answer)
		return err
	})
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func answers(ctx context.Context, q querier, p *domain.Poll) ([]domain.Answer, error) {
	rows, err := q.Query(ctx, `SELECT answer FROM responses WHERE poll_id = $1`, p.ID)
	if err != nil {
		return nil, err
	}
	raws, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]domain.Answer, 0, len(raws))
	for _, raw := range raws {
		a, err := domain.DecodeAnswer(p.Questions, raw)
		if err != nil {
			return nil, fmt.Errorf("poll %s: %w", p.ID, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// Answers loads every answer to the poll.
func (r *Repository) Answers(ctx context.Context, p *domain.Poll) ([]domain.Answer, error) {
	return answers(ctx, r.pool, p)
}

// Close closes the poll at now and publishes poll_closed and, when enough people
// answered, results_published with the aggregates. Closing twice is a conflict.
func (r *Repository) Close(ctx context.Context, id string, now time.Time) (*domain.Poll, error) {
	var out *domain.Poll
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		p, err := scanPoll(tx.QueryRow(ctx, "SELECT "+pollColumns+" FROM polls WHERE id = $1 FOR UPDATE", id))
		if err != nil {
			return notFound(err, "poll %q does not exist", id)
		}
		if p.ClosedAt != nil {
			return apperr.Conflict("the poll is already closed")
		}
		p.ClosedAt = &now
		if _, err := tx.Exec(ctx, `UPDATE polls SET closed_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		// Rewrite the responses in random order under new ids, in this transaction: from
		// now on neither their order on disk nor their transaction ids say when each came.
		if _, err := tx.Exec(ctx, `WITH gone AS (DELETE FROM responses WHERE poll_id = $1 RETURNING answer)
			INSERT INTO responses (poll_id, answer) SELECT $1, answer FROM gone ORDER BY random()`, id); err != nil {
			return err
		}
		as, err := answers(ctx, tx, p)
		if err != nil {
			return err
		}
		evs := []events.Event{events.PollClosed{PollID: p.ID, CoPID: p.CoPID}}
		if res := domain.Tally(p.Questions, as, p.MinResponses); !res.Withheld {
			var region string
			if err := tx.QueryRow(ctx, `SELECT region FROM cops WHERE id = $1`, p.CoPID).Scan(&region); err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			questions, err := asJSONValue(res.Questions)
			if err != nil {
				return err
			}
			evs = append(evs, events.ResultsPublished{
				PollID: p.ID, CoPID: p.CoPID, Region: region, SessionID: p.SessionID, Kind: p.Kind,
				Purpose: p.Purpose, Responses: res.Responses, Results: map[string]any{"questions": questions},
			})
		}
		out = p
		return r.outbox.Publish(ctx, tx, evs...)
	})
	return out, err
}

func asJSONValue(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(raw, &out)
}

// DuePolls lists polls whose closing time has passed at now but that are not closed yet.
func (r *Repository) DuePolls(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT id FROM polls WHERE closed_at IS NULL AND closes_at <= $1 ORDER BY closes_at LIMIT 100`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// AddAssessment stores a stage assessment and publishes stage_assessed.
func (r *Repository) AddAssessment(ctx context.Context, id, cop string, answers map[string]string, a domain.Assessment, now time.Time) error {
	raw, err := json.Marshal(answers)
	if err != nil {
		return err
	}
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO stage_assessments (id, cop_id, stage, answers, assessed_at)
			VALUES ($1, $2, $3, $4, $5)`, id, cop, a.Stage, raw, now); err != nil {
			return err
		}
		return r.outbox.Publish(ctx, tx, events.StageAssessed{AssessmentID: id, CoPID: cop, Stage: string(a.Stage)})
	})
}
