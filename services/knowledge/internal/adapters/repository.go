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
	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// Repository stores the knowledge map; it implements app.Repository.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *bus.Outbox
	node   string
	now    func() time.Time
}

// NewRepository returns the repository of node writing events through outbox and stamping
// rows with now.
func NewRepository(pool *pgxpool.Pool, outbox *bus.Outbox, node string, now func() time.Time) *Repository {
	return &Repository{pool: pool, outbox: outbox, node: node, now: now}
}

// querier is what both the pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// q is the transaction ctx carries, so that reads inside InTx or an event consumer see
// what it wrote, or else the pool.
func (r *Repository) q(ctx context.Context) querier {
	if tx, ok := postgres.TxFrom(ctx); ok {
		return tx
	}
	return r.pool
}

// InTx runs fn in one transaction carried by the ctx it passes: every repository call fn
// makes with that ctx joins it. Within an event consumer it joins the consumer's.
func (r *Repository) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		return fn(postgres.WithTx(ctx, tx))
	})
}

// publish writes evs to the outbox in tx (nothing when there are none).
func (r *Repository) publish(ctx context.Context, tx pgx.Tx, evs ...events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	return r.outbox.Publish(ctx, tx, evs...)
}

// CoPRegion returns the region of an approved CoP; an unknown CoP is a 422 on field.
func (r *Repository) CoPRegion(ctx context.Context, copID, field string) (string, error) {
	var region string
	err := r.q(ctx).QueryRow(ctx, "SELECT region FROM cops WHERE cop_id = $1", copID).Scan(&region)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", apperr.Unprocessable(field, "CoP "+copID+" is not an approved CoP")
	}
	return region, err
}

// AcceptCoP records an approved CoP's region (cop_approved).
func (r *Repository) AcceptCoP(ctx context.Context, copID, region string) error {
	_, err := r.q(ctx).Exec(ctx, `INSERT INTO cops (cop_id, region) VALUES ($1, $2)
		ON CONFLICT (cop_id) DO UPDATE SET region = excluded.region`, copID, region)
	return err
}

// Taxonomy loads the topics the given terms resolve to.
func (r *Repository) Taxonomy(ctx context.Context, terms ...[]string) (domain.Taxonomy, error) {
	var all []string
	for _, ts := range terms {
		for _, t := range ts {
			all = append(all, domain.Normalise(t))
		}
	}
	rows, err := r.q(ctx).Query(ctx, "SELECT term, topic_name FROM topic_terms WHERE term = ANY($1)", all)
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

// AddTopic stores a topic and its synonyms and publishes topic_added. A term already
// naming a topic is a 409. Everything stored under a synonym before is renamed to the
// topic (recanonicalise), so that what was mapped earlier meets what is mapped from now
// on; it returns the projects renamed and the regions with demand on the topic.
func (r *Repository) AddTopic(ctx context.Context, t *app.Topic) (projects, regions []string, err error) {
	t.CreatedAt = r.now()
	terms := append([]string{t.Name}, t.Synonyms...)
	err = postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		var taken []string
		if err := tx.QueryRow(ctx, "SELECT coalesce(array_agg(term ORDER BY term), '{}') FROM topic_terms WHERE term = ANY($1)", terms).Scan(&taken); err != nil {
			return err
		}
		if len(taken) > 0 {
			return apperr.Conflict("already in the taxonomy: %v", taken)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO topics (id, name, synonyms, created_at) VALUES ($1,$2,$3,$4)",
			t.ID, t.Name, t.Synonyms, t.CreatedAt); err != nil {
			return err
		}
		for _, term := range terms {
			if _, err := tx.Exec(ctx, "INSERT INTO topic_terms (term, topic_id, topic_name) VALUES ($1,$2,$3)", term, t.ID, t.Name); err != nil {
				return err
			}
		}
		if err := r.publish(ctx, tx, events.TopicAdded{TopicID: t.ID, Name: t.Name, Synonyms: t.Synonyms}); err != nil {
			return err
		}
		projects, regions, err = recanonicalise(ctx, tx, t.Name, t.Synonyms)
		return err
	})
	return projects, regions, err
}

// recanonicalise renames every stored use of synonyms, which until now were terms of their
// own, to the topic name: topics of projects, expertise, requests, assets and held
// sessions, projects' population groups, feedback's demand and recorded gaps. It returns
// the projects that changed (in id order) and the regions with demand on the topic.
func recanonicalise(ctx context.Context, tx pgx.Tx, name string, synonyms []string) (projects, regions []string, err error) {
	if len(synonyms) == 0 {
		return nil, nil, nil
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
		return nil, nil, err
	}
	for _, table := range []string{"expertise", "requests", "assets", "sessions_held"} {
		if _, err := tx.Exec(ctx, "UPDATE "+table+" "+rename, synonyms, name); err != nil {
			return nil, nil, err
		}
	}
	// A group is part of a key (a project may name "youth" and "young people" in one
	// place): copy under the name where absent, then drop the synonyms' rows.
	if _, err := tx.Exec(ctx, `INSERT INTO project_communities (project_id, place, grp, ancestors, during)
		SELECT project_id, place, $2, ancestors, during FROM project_communities WHERE grp = ANY($1)
		ON CONFLICT DO NOTHING`, synonyms, name); err != nil {
		return nil, nil, err
	}
	if err := collect(tx.Query(ctx, "DELETE FROM project_communities WHERE grp = ANY($1) RETURNING project_id", synonyms)); err != nil {
		return nil, nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO feedback_demand (poll_id, topic, cop_id, region, reason, recorded_at)
		SELECT poll_id, $2, cop_id, region, reason, recorded_at FROM feedback_demand WHERE topic = ANY($1)
		ON CONFLICT DO NOTHING`, synonyms, name); err != nil {
		return nil, nil, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM feedback_demand WHERE topic = ANY($1)", synonyms); err != nil {
		return nil, nil, err
	}
	// Gaps on a synonym are gaps on the topic now: forgotten, then judged again under
	// the name in every region with demand on it.
	if _, err := tx.Exec(ctx, "DELETE FROM gaps WHERE topic = ANY($1)", synonyms); err != nil {
		return nil, nil, err
	}
	if err := tx.QueryRow(ctx, "SELECT coalesce(array_agg(DISTINCT region ORDER BY region), '{}') FROM topic_demand WHERE topic = $1 AND region IS NOT NULL",
		name).Scan(&regions); err != nil {
		return nil, nil, err
	}
	projects = make([]string, 0, len(changed))
	for id := range changed {
		projects = append(projects, id)
	}
	slices.Sort(projects)
	return projects, regions, nil
}

// Topics lists the taxonomy by name.
func (r *Repository) Topics(ctx context.Context) ([]app.Topic, error) {
	rows, err := r.pool.Query(ctx, "SELECT id, name, synonyms, created_at FROM topics ORDER BY name")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[app.Topic])
}

var _ app.Repository = (*Repository)(nil)
