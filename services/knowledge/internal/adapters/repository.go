// Package adapters keeps the knowledge service's state in PostgreSQL. Every change commits
// together with the events it causes (the outbox), so the two can never disagree.
package adapters

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/knowledge/domain"
)

// Repository stores the knowledge map.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *bus.Outbox
	node   string
	tier   string
	now    func() time.Time
	rule   domain.OverlapRule
}

// NewRepository returns the repository of node (at tier) writing events through outbox,
// stamping rows with now and detecting overlaps with rule.
func NewRepository(pool *pgxpool.Pool, outbox *bus.Outbox, node, tier string, now func() time.Time, rule domain.OverlapRule) *Repository {
	return &Repository{pool: pool, outbox: outbox, node: node, tier: tier, now: now, rule: rule}
}

// querier is what both the pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tx runs fn in a transaction and writes the events it returns to the outbox in it.
func (r *Repository) tx(ctx context.Context, fn func(tx pgx.Tx) ([]events.Event, error)) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		evs, err := fn(tx)
		if err != nil || len(evs) == 0 {
			return err
		}
		return r.outbox.Publish(ctx, tx, evs...)
	})
}

// CoPRegion returns the region of an approved CoP; an unknown CoP is a 422 on field.
func (r *Repository) CoPRegion(ctx context.Context, copID, field string) (string, error) {
	var region string
	err := r.pool.QueryRow(ctx, "SELECT region FROM cops WHERE cop_id = $1", copID).Scan(&region)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", apperr.Unprocessable(field, "CoP "+copID+" is not an approved CoP")
	}
	return region, err
}

// AcceptCoP records an approved CoP's region (cop_approved).
func AcceptCoP(ctx context.Context, tx pgx.Tx, ev events.CoPApproved) error {
	_, err := tx.Exec(ctx, `INSERT INTO cops (cop_id, region) VALUES ($1, $2)
		ON CONFLICT (cop_id) DO UPDATE SET region = excluded.region`, ev.CoPID, ev.Region)
	return err
}

// taxonomy loads the topics the given terms resolve to.
func taxonomy(ctx context.Context, q querier, terms ...[]string) (domain.Taxonomy, error) {
	var all []string
	for _, ts := range terms {
		for _, t := range ts {
			all = append(all, domain.Normalise(t))
		}
	}
	rows, err := q.Query(ctx, "SELECT term, topic_name FROM topic_terms WHERE term = ANY($1)", all)
	if err != nil {
		return nil, err
	}
	tax := domain.Taxonomy{}
	var term, name string
	_, err = pgx.ForEachRow(rows, []any{&term, &name}, func() error {
		tax[term] = name
		return nil
	})
	return tax, err
}

// Canonical names terms by their topics (see domain.Taxonomy).
func (r *Repository) Canonical(ctx context.Context, terms []string) ([]string, error) {
	tax, err := taxonomy(ctx, r.pool, terms)
	if err != nil {
		return nil, err
	}
	return tax.Canonical(terms), nil
}

// Topic is one entry of the shared taxonomy.
type Topic struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Synonyms  []string  `json:"synonyms"`
	CreatedAt time.Time `json:"created_at"`
}

// AddTopic stores a topic and its synonyms and publishes topic_added. A term already
// naming a topic is a 409. Everything stored under a synonym before is renamed to the
// topic (recanonicalise), so that what was mapped earlier meets what is mapped from now on.
func (r *Repository) AddTopic(ctx context.Context, t *Topic) error {
	t.CreatedAt = r.now()
	terms := append([]string{t.Name}, t.Synonyms...)
	return r.tx(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		var taken []string
		if err := tx.QueryRow(ctx, "SELECT coalesce(array_agg(term ORDER BY term), '{}') FROM topic_terms WHERE term = ANY($1)", terms).Scan(&taken); err != nil {
			return nil, err
		}
		if len(taken) > 0 {
			return nil, apperr.Conflict("already in the taxonomy: %v", taken)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO topics (id, name, synonyms, created_at) VALUES ($1,$2,$3,$4)",
			t.ID, t.Name, t.Synonyms, t.CreatedAt); err != nil {
			return nil, err
		}
		for _, term := range terms {
			if _, err := tx.Exec(ctx, "INSERT INTO topic_terms (term, topic_id, topic_name) VALUES ($1,$2,$3)", term, t.ID, t.Name); err != nil {
				return nil, err
			}
		}
		evs, err := r.recanonicalise(ctx, tx, t.Name, t.Synonyms)
		if err != nil {
			return nil, err
		}
		return append([]events.Event{events.TopicAdded{TopicID: t.ID, Name: t.Name, Synonyms: t.Synonyms}}, evs...), nil
	})
}

// recanonicalise renames every stored use of synonyms, which until now were terms of their
// own, to the topic name: topics of projects, expertise, requests, assets and held
// sessions, projects' population groups, feedback's demand and recorded gaps. What was
// stored earlier then meets what is stored from now on: overlap detection runs again for
// every project that changed (the pair constraint still reports each pair once), and the
// gaps of every region with demand on the topic are judged again.
func (r *Repository) recanonicalise(ctx context.Context, tx pgx.Tx, name string, synonyms []string) ([]events.Event, error) {
	if len(synonyms) == 0 {
		return nil, nil
	}
	changed := map[string]bool{}
	collect := func(rows pgx.Rows, err error) error {
		if err != nil {
			return err
		}
		var id string
		_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
			changed[id] = true
			return nil
		})
		return err
	}
	rename := `SET topics = (SELECT array_agg(DISTINCT CASE WHEN x = ANY($1) THEN $2 ELSE x END
		ORDER BY CASE WHEN x = ANY($1) THEN $2 ELSE x END) FROM unnest(topics) x) WHERE topics && $1`
	if err := collect(tx.Query(ctx, "UPDATE projects "+rename+" RETURNING id", synonyms, name)); err != nil {
		return nil, err
	}
	for _, table := range []string{"expertise", "requests", "assets", "sessions_held"} {
		if _, err := tx.Exec(ctx, "UPDATE "+table+" "+rename, synonyms, name); err != nil {
			return nil, err
		}
	}
	// A group is part of a key (a project may name "youth" and "young people" in one
	// place): copy under the name where absent, then drop the synonyms' rows.
	if _, err := tx.Exec(ctx, `INSERT INTO project_communities (project_id, place, grp, ancestors, during)
		SELECT project_id, place, $2, ancestors, during FROM project_communities WHERE grp = ANY($1)
		ON CONFLICT DO NOTHING`, synonyms, name); err != nil {
		return nil, err
	}
	if err := collect(tx.Query(ctx, "DELETE FROM project_communities WHERE grp = ANY($1) RETURNING project_id", synonyms)); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO feedback_demand (poll_id, topic, cop_id, region, reason, recorded_at)
		SELECT poll_id, $2, cop_id, region, reason, recorded_at FROM feedback_demand WHERE topic = ANY($1)
		ON CONFLICT DO NOTHING`, synonyms, name); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM feedback_demand WHERE topic = ANY($1)", synonyms); err != nil {
		return nil, err
	}
	// Gaps on a synonym are gaps on the topic now: forgotten, then judged again under
	// the name in every region with demand on it.
	if _, err := tx.Exec(ctx, "DELETE FROM gaps WHERE topic = ANY($1)", synonyms); err != nil {
		return nil, err
	}
	var regions []string
	if err := tx.QueryRow(ctx, "SELECT coalesce(array_agg(DISTINCT region ORDER BY region), '{}') FROM topic_demand WHERE topic = $1 AND region IS NOT NULL",
		name).Scan(&regions); err != nil {
		return nil, err
	}
	var evs []events.Event
	for _, region := range regions {
		gaps, err := r.refreshGaps(ctx, tx, region, []string{name})
		if err != nil {
			return nil, err
		}
		evs = append(evs, gaps...)
	}
	ids := make([]string, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		found, err := r.detectOverlaps(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		evs = append(evs, found...)
	}
	return evs, nil
}

// Topics lists the taxonomy by name.
func (r *Repository) Topics(ctx context.Context) ([]Topic, error) {
	rows, err := r.pool.Query(ctx, "SELECT id, name, synonyms, created_at FROM topics ORDER BY name")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Topic])
}
