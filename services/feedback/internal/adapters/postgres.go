// Package adapters keeps the feedback service's state in PostgreSQL. Every change commits
// together with the events it causes (the outbox).
package adapters

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/feedback/domain"
	"github.com/copnet/copnet/services/feedback/internal/app"
)

// Repository stores polls, ballots, responses, assessments and the projections of other
// services' events that the feedback service needs.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *bus.Outbox
	keys   *domain.Keys
}

// NewRepository returns a repository writing events through outbox, sealing answers and
// hashing issuance with keys.
func NewRepository(pool *pgxpool.Pool, outbox *bus.Outbox, keys *domain.Keys) *Repository {
	return &Repository{pool: pool, outbox: outbox, keys: keys}
}

// MoveLegacyIssuance replaces issuance rows written before sealed answers (which named
// the person) by their keyed hashes; migration 002 cannot, as the database has no key.
func (r *Repository) MoveLegacyIssuance(ctx context.Context) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM ballots_issued_v1 RETURNING poll_id, person_id`)
		if err != nil {
			return err
		}
		var polls, hashes = []string{}, [][]byte{}
		for rows.Next() {
			var poll, person string
			if err := rows.Scan(&poll, &person); err != nil {
				rows.Close()
				return err
			}
			polls, hashes = append(polls, poll), append(hashes, r.keys.IssueHash(poll, person))
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(polls) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO ballots_issued (poll_id, issue_hash)
			SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT DO NOTHING`, polls, hashes)
		return err
	})
}

// Projections. Each joins the transaction ctx carries, the consumer's, so the change
// commits with the record that its event was processed.

// PutCoP records an approved CoP's region.
func (r *Repository) PutCoP(ctx context.Context, id, region string) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO cops (id, region) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET region = excluded.region`, id, region)
		return err
	})
}

// AddMember records that person belongs to cop as of at (the event's time). member_joined
// also carries the region, so the CoP is known even when its cop_approved is consumed later.
func (r *Repository) AddMember(ctx context.Context, cop, region, person string, at time.Time) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO cops (id, region) VALUES ($1, $2) ON CONFLICT DO NOTHING`, cop, region); err != nil {
			return err
		}
		return setMember(ctx, tx, cop, person, true, at)
	})
}

// RemoveMember records that person left cop as of at. Ballots already issued stay valid.
func (r *Repository) RemoveMember(ctx context.Context, cop, person string, at time.Time) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error { return setMember(ctx, tx, cop, person, false, at) })
}

// setMember applies a membership change unless a later one was applied already: joins and
// leaves reach two durable consumers, so a leave may be applied before its join, or a
// redelivered old join after a re-join's leave. The row outlives the membership so the
// latest time is remembered. An erased person is never written back.
func setMember(ctx context.Context, tx pgx.Tx, cop, person string, current bool, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO members (cop_id, person_id, current, as_of)
		SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM erased WHERE person_hash = $5)
		ON CONFLICT (cop_id, person_id) DO UPDATE SET current = excluded.current, as_of = excluded.as_of
		WHERE members.as_of < excluded.as_of OR (members.as_of = excluded.as_of AND NOT excluded.current)`,
		cop, person, current, at, erasedHash(person))
	return err
}

// erasedHash is how an erased person is remembered: enough to refuse their id later.
func erasedHash(person string) []byte {
	h := sha256.Sum256([]byte("copnet-erased:" + person))
	return h[:]
}

// ErasePerson removes every trace of person: memberships and ballot issuance records
// (found by recomputing their keyed hash for every members' poll), and remembers the
// erasure so late membership events cannot bring the id back. Responses never held the
// person, so they stay.
func (r *Repository) ErasePerson(ctx context.Context, person string) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error { return r.erasePerson(ctx, tx, person) })
}

func (r *Repository) erasePerson(ctx context.Context, tx pgx.Tx, person string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO erased (person_hash) VALUES ($1) ON CONFLICT DO NOTHING`, erasedHash(person)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM members WHERE person_id = $1`, person); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT id FROM polls WHERE audience = $1`, domain.AudienceMembers)
	if err != nil {
		return err
	}
	polls, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	hashes := make([][]byte, len(polls))
	for i, p := range polls {
		hashes[i] = r.keys.IssueHash(p, person)
	}
	_, err = tx.Exec(ctx, `DELETE FROM ballots_issued WHERE (poll_id, issue_hash) IN
		(SELECT * FROM unnest($1::text[], $2::bytea[]))`, polls, hashes)
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
	err := r.pool.QueryRow(ctx, `SELECT EXISTS(SELECT 1 FROM members WHERE cop_id = $1 AND person_id = $2 AND current)`, cop, person).Scan(&ok)
	return ok, err
}

// Polls.

const pollColumns = `id, code, cop_id, session_id, kind, purpose, audience, questions, min_responses,
	opened_at, closes_at, closed_at`

func scanPoll(row pgx.Row) (*domain.Poll, error) {
	var p domain.Poll
	var questions []byte
	err := row.Scan(&p.ID, &p.Code, &p.CoPID, &p.SessionID, &p.Kind, &p.Purpose, &p.Audience, &questions,
		&p.MinResponses, &p.OpenedAt, &p.ClosesAt, &p.ClosedAt)
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

// OpenForSession stores an evaluation or check-in and publishes poll_opened, unless the
// session already has one; it reports whether it opened a poll. It joins the transaction
// ctx carries (the consumer's of the event that opens it).
func (r *Repository) OpenForSession(ctx context.Context, p *domain.Poll) (bool, error) {
	var opened bool
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		var err error
		if opened, err = r.insertPoll(ctx, tx, p); err != nil || !opened {
			return err
		}
		return r.outbox.Publish(ctx, tx, openedEvent(p))
	})
	return opened && err == nil, err
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
			questions, min_responses, opened_at, closes_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
			ON CONFLICT DO NOTHING`,
			p.ID, p.Code, p.CoPID, p.SessionID, p.Kind, p.Purpose, p.Audience, questions, p.MinResponses,
			p.OpenedAt, p.ClosesAt)
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

// IssueBallot records that person got a ballot for the poll, under a keyed hash that
// names nobody to whoever reads the database; a second one is refused.
func (r *Repository) IssueBallot(ctx context.Context, pollID, person string, now time.Time) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if err := lockOpen(ctx, tx, pollID, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO ballots_issued (poll_id, issue_hash) VALUES ($1, $2)`,
			pollID, r.keys.IssueHash(pollID, person))
		if postgres.IsUniqueViolation(err, "") {
			return apperr.Conflict("a ballot for this poll was already issued to you")
		}
		return err
	})
}

// used is where a response's single-use token is remembered.
type used string

// The tables of single-use tokens.
const (
	usedBallot used = "ballots_cast (poll_id, ballot_hash)"
	usedDevice used = "devices_used (poll_id, device_hash)"
)

// RespondWithBallot stores a member's answer sealed, spending their ballot (its hash); see
// respond.
func (r *Repository) RespondWithBallot(ctx context.Context, pollID string, ballotHash []byte, a domain.Answer, now time.Time) error {
	return r.respond(ctx, pollID, usedBallot, ballotHash, a, now)
}

// RespondFromDevice stores an answer from a device in the room sealed, spending the
// device's token (its hash) for this poll; see respond.
func (r *Repository) RespondFromDevice(ctx context.Context, pollID string, deviceHash []byte, a domain.Answer, now time.Time) error {
	return r.respond(ctx, pollID, usedDevice, deviceHash, a, now)
}

// respond stores an answer sealed, spending its ballot or device token (hash) in the same
// transaction; a token already spent is refused and nothing is stored. Once this commits
// the answer survives any crash: the person was told "recorded".
func (r *Repository) respond(ctx context.Context, pollID string, used used, hash []byte, a domain.Answer, now time.Time) error {
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
			if used == usedBallot {
				return apperr.Conflict("this ballot has already been used")
			}
			return apperr.Conflict("this device has already answered this poll")
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO sealed_responses (poll_id, sealed) VALUES ($1, $2)`,
			pollID, r.keys.Seal(pollID, answer))
		return err
	})
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// answers reads the poll's opened answers (responses).
func answers(ctx context.Context, q querier, p *domain.Poll) ([]domain.Answer, error) {
	rows, err := q.Query(ctx, `SELECT answer FROM responses WHERE poll_id = $1`, p.ID)
	if err != nil {
		return nil, err
	}
	raws, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	return decodeAll(ctx, p, raws)
}

func decodeAll(ctx context.Context, p *domain.Poll, raws [][]byte) ([]domain.Answer, error) {
	out := make([]domain.Answer, 0, len(raws))
	for i, raw := range raws {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		a, err := domain.DecodeAnswer(p.Questions, raw)
		if err != nil {
			return nil, fmt.Errorf("poll %s: %w", p.ID, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// opened decrypts the poll's sealed answers in arrival order, in the process: the
// plaintext never goes back to the database. It gives up when ctx ends.
func (r *Repository) opened(ctx context.Context, q querier, p *domain.Poll) ([][]byte, error) {
	rows, err := q.Query(ctx, `SELECT sealed FROM sealed_responses WHERE poll_id = $1 ORDER BY seq`, p.ID)
	if err != nil {
		return nil, err
	}
	sealed, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(sealed))
	for i, s := range sealed {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		plain, err := r.keys.Open(p.ID, s)
		if err != nil {
			return nil, fmt.Errorf("poll %s: %w", p.ID, err)
		}
		out = append(out, plain)
	}
	return out, nil
}

// Answers loads every answer to the poll: those opened at close (or written before
// answers were sealed), then the sealed ones in arrival order.
func (r *Repository) Answers(ctx context.Context, p *domain.Poll) ([]domain.Answer, error) {
	done, err := answers(ctx, r.pool, p)
	if err != nil {
		return nil, err
	}
	plain, err := r.opened(ctx, r.pool, p)
	if err != nil {
		return nil, err
	}
	pending, err := decodeAll(ctx, p, plain)
	if err != nil {
		return nil, err
	}
	return append(done, pending...), nil
}

// shuffle puts xs in a uniformly random order drawn from crypto/rand (Fisher-Yates over a
// ChaCha8 stream seeded by it): the order answers are written in at close must not be
// predictable from, or correlated with, the order they arrived in.
func shuffle[T any](xs []T) {
	var seed [32]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails (Go 1.24+)
	mrand.New(mrand.NewChaCha8(seed)).Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
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
		// Open every sealed answer here, in the process, and write them all in this one
		// transaction in a random order under random ids: they share one xmin, and their
		// order on disk and in the WAL is a permutation independent of arrival.
		plain, err := r.opened(ctx, tx, p)
		if err != nil {
			return err
		}
		shuffle(plain)
		if len(plain) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO responses (poll_id, answer)
				SELECT $1, a FROM unnest($2::jsonb[]) WITH ORDINALITY AS u (a, n) ORDER BY n`, id, plain); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM sealed_responses WHERE poll_id = $1`, id); err != nil {
				return err
			}
		}
		as, err := answers(ctx, tx, p)
		if err != nil {
			return err
		}
		evs := []events.Event{events.PollClosed{PollID: p.ID, CoPID: p.CoPID}}
		res, err := domain.TallyContext(ctx, p.Questions, as, p.MinResponses)
		if err != nil {
			return err
		}
		if !res.Withheld {
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

// Assessments lists a CoP's stage assessments, oldest first, each scored again from its
// stored answers (the same rules that scored it when it was saved).
func (r *Repository) Assessments(ctx context.Context, cop string) ([]app.StageAssessment, error) {
	rows, err := r.pool.Query(ctx, `SELECT id, answers, assessed_at FROM stage_assessments WHERE cop_id = $1
		ORDER BY assessed_at, id`, cop)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []app.StageAssessment{}
	for rows.Next() {
		s := app.StageAssessment{CoPID: cop}
		var raw []byte
		if err := rows.Scan(&s.ID, &raw, &s.AssessedAt); err != nil {
			return nil, err
		}
		var answers map[string]string
		if err := json.Unmarshal(raw, &answers); err != nil {
			return nil, fmt.Errorf("stage assessment %s: %w", s.ID, err)
		}
		if s.Assessment, err = domain.Assess(answers); err != nil {
			return nil, fmt.Errorf("stage assessment %s: %w", s.ID, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// OpenMembersPolls lists the members' polls still taking answers at now in the CoPs
// person currently belongs to, oldest first.
func (r *Repository) OpenMembersPolls(ctx context.Context, person string, now time.Time) ([]*domain.Poll, error) {
	rows, err := r.pool.Query(ctx, "SELECT "+pollColumns+` FROM polls p
		WHERE audience = $2 AND closed_at IS NULL AND (closes_at IS NULL OR closes_at > $3)
		AND EXISTS (SELECT 1 FROM members m WHERE m.cop_id = p.cop_id AND m.person_id = $1 AND m.current)
		ORDER BY opened_at, id`, person, domain.AudienceMembers, now)
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

// BallotsIssued returns which of the polls have a ballot issued under the paired hash.
func (r *Repository) BallotsIssued(ctx context.Context, polls []string, hashes [][]byte) ([]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT poll_id FROM ballots_issued WHERE (poll_id, issue_hash) IN
		(SELECT * FROM unnest($1::text[], $2::bytea[]))`, polls, hashes)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
