package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/knowledge/domain"
	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// AddProject stores a project mapped here and publishes project_mapped.
func (r *Repository) AddProject(ctx context.Context, p *app.Project) error {
	p.CreatedAt, p.Origin = r.now(), r.node
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := insertProject(ctx, tx, p); err != nil {
			return err
		}
		return r.publish(ctx, tx, mapped(p))
	})
}

func mapped(p *app.Project) events.ProjectMapped {
	ev := events.ProjectMapped{
		ProjectID: p.ID, CoPID: p.CoPID, Region: p.Region, Organisation: p.Organisation,
		Topics: p.Topics, Communities: []events.Community{}, Title: p.Title,
		StartsOn: p.StartsOn.Format(time.DateOnly), EndsOn: p.EndsOn.Format(time.DateOnly),
	}
	for _, c := range p.Communities {
		ev.Communities = append(ev.Communities, events.Community{Place: c.Place, Group: c.Group})
	}
	return ev
}

// insertProject stores p unless a project with its id exists (a redelivered or
// self-originated project_mapped); it reports whether it stored it.
func insertProject(ctx context.Context, tx pgx.Tx, p *app.Project) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO projects (id, cop_id, region, title, organisation, topics,
		methods, starts_on, ends_on, origin, created_at, mapped_by, contact) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
		ON CONFLICT (id) DO NOTHING`,
		p.ID, p.CoPID, p.Region, p.Title, p.Organisation, p.Topics, p.Methods, p.StartsOn, p.EndsOn, p.Origin, p.CreatedAt,
		p.MappedBy, p.Contact)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	for _, c := range p.Communities {
		if _, err := tx.Exec(ctx, `INSERT INTO project_communities (project_id, place, grp, ancestors, during)
			VALUES ($1, $2, $3, $4, daterange($5, $6, '[]'))`,
			p.ID, c.Place, c.Group, domain.Ancestors(c.Place), p.StartsOn, p.EndsOn); err != nil {
			return false, err
		}
	}
	return true, nil
}

// KeepProject stores a project from a project_mapped of any node unless a project with
// its id is known (a redelivered or self-originated project_mapped).
func (r *Repository) KeepProject(ctx context.Context, p *app.Project) error {
	p.CreatedAt = r.now()
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		_, err := insertProject(ctx, tx, p)
		return err
	})
}

// CandidatesSQL finds the projects that may overlap project $1 with a gap of $2 days:
// the same group in the same place or a place containing or inside it, with windows near
// in time (fatigue), and projects of the same region sharing a topic at about the same
// time (duplication). Each
// arm is answered by an index (group and place btree, ancestors GIN, window GiST; region
// btree, topics GIN); domain.OverlapRule then decides on this short list.
const CandidatesSQL = `
SELECT c.project_id FROM project_communities mine JOIN project_communities c
	ON c.grp = mine.grp AND c.place = ANY(mine.ancestors)
	AND c.during && daterange(lower(mine.during) - $2::int, upper(mine.during) + $2::int)
WHERE mine.project_id = $1 AND c.project_id <> $1
UNION
SELECT c.project_id FROM project_communities mine JOIN project_communities c
	ON c.grp = mine.grp AND c.ancestors @> ARRAY[mine.place]
	AND c.during && daterange(lower(mine.during) - $2::int, upper(mine.during) + $2::int)
WHERE mine.project_id = $1 AND c.project_id <> $1
UNION
SELECT p.id FROM projects mine JOIN projects p ON p.region = mine.region AND p.topics && mine.topics
	AND p.starts_on <= mine.ends_on + $2::int AND p.ends_on >= mine.starts_on - $2::int
WHERE mine.id = $1 AND p.id <> $1`

// overlapLock serialises overlap detection: two projects mapped at once (each inserted by
// its own consumer transaction) would otherwise each miss the other.
const overlapLock = 7_140_115_001

// OverlapCandidates returns project id and, in no particular order, the projects that
// may overlap it with a gap of gapDays. It takes detection's lock for the rest of the
// transaction: two projects mapped at once (each inserted by its own consumer
// transaction) would otherwise each miss the other.
func (r *Repository) OverlapCandidates(ctx context.Context, id string, gapDays int) (*app.Project, []*app.Project, error) {
	var mine *app.Project
	var others []*app.Project
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", overlapLock); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, CandidatesSQL, id, gapDays)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		projects, err := loadProjects(ctx, tx, append(ids, id))
		if err != nil {
			return err
		}
		var ok bool
		if mine, ok = projects[id]; !ok {
			return fmt.Errorf("project %s vanished", id)
		}
		for _, other := range ids {
			if o, ok := projects[other]; ok {
				others = append(others, o)
			}
		}
		return nil
	})
	return mine, others, err
}

// RecordOverlap stores an overlap unless its pair is flagged already (the pair
// constraint), and only then publishes overlap_detected.
func (r *Repository) RecordOverlap(ctx context.Context, o app.Overlap) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO project_overlaps (id, kind, score, project_a, project_b, cop_ids, regions,
			detected_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8) ON CONFLICT ON CONSTRAINT overlaps_pair DO NOTHING`,
			o.ID, o.Kind, o.Score, o.ProjectIDs[0], o.ProjectIDs[1], o.CoPIDs, o.Regions, r.now())
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return r.publish(ctx, tx, events.OverlapDetected{OverlapID: o.ID, Kind: o.Kind, Score: o.Score,
			ProjectIDs: o.ProjectIDs, CoPIDs: o.CoPIDs, Regions: o.Regions})
	})
}

const projectColumns = `p.id, p.cop_id, p.region, p.title, p.organisation, p.topics, p.methods, p.starts_on,
	p.ends_on, p.origin, p.created_at, p.mapped_by, p.contact,
	coalesce((SELECT array_agg(c.place || '|' || c.grp ORDER BY c.place, c.grp) FROM project_communities c WHERE c.project_id = p.id), '{}')`

func scanProject(row pgx.Row) (*app.Project, error) {
	var p app.Project
	var communities []string
	if err := row.Scan(&p.ID, &p.CoPID, &p.Region, &p.Title, &p.Organisation, &p.Topics, &p.Methods,
		&p.StartsOn, &p.EndsOn, &p.Origin, &p.CreatedAt, &p.MappedBy, &p.Contact, &communities); err != nil {
		return nil, err
	}
	for _, c := range communities {
		// Place codes cannot hold '|', so the first one splits place from group.
		for i := range len(c) {
			if c[i] == '|' {
				p.Communities = append(p.Communities, domain.Community{Place: c[:i], Group: c[i+1:]})
				break
			}
		}
	}
	if p.Communities == nil {
		p.Communities = []domain.Community{}
	}
	return &p, nil
}

func loadProjects(ctx context.Context, q querier, ids []string) (map[string]*app.Project, error) {
	rows, err := q.Query(ctx, "SELECT "+projectColumns+" FROM projects p WHERE p.id = ANY($1)", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*app.Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out[p.ID] = p
	}
	return out, rows.Err()
}

// Projects lists projects, newest window first.
func (r *Repository) Projects(ctx context.Context, f app.ProjectFilter) ([]*app.Project, error) {
	var afterDay *time.Time
	afterID := ""
	if f.After != nil {
		afterDay, afterID = &f.After.StartsOn, f.After.ID
	}
	rows, err := r.pool.Query(ctx, "SELECT "+projectColumns+` FROM projects p
		WHERE ($1 = '' OR p.cop_id = $1) AND ($2 = '' OR p.region = $2) AND ($3 = '' OR p.topics @> ARRAY[$3])
		AND ($5 = '' OR p.mapped_by = $5)
		AND ($6::date IS NULL OR (p.starts_on, p.id) < ($6::date, $7))
		ORDER BY p.starts_on DESC, p.id DESC LIMIT $4`, f.CoP, f.Region, f.Topic, f.Limit, f.MappedBy, afterDay, afterID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*app.Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

const overlapColumns = `id, kind, score, ARRAY[project_a, project_b], cop_ids, regions, status, note, detected_at, updated_at,
	(SELECT coalesce(array_agg(p.cop_id || '|' || p.mapped_by ORDER BY p.id), '{}') FROM projects p
		WHERE p.id IN (project_a, project_b) AND p.mapped_by <> '')`

// Overlaps lists overlaps, highest score first.
func (r *Repository) Overlaps(ctx context.Context, f app.OverlapFilter) ([]app.Overlap, error) {
	rows, err := r.pool.Query(ctx, "SELECT "+overlapColumns+` FROM project_overlaps
		WHERE ($1 = '' OR regions @> ARRAY[$1]) AND ($2 = '' OR cop_ids @> ARRAY[$2])
		AND ($3 = '' OR kind = $3) AND ($4 = '' OR status = $4)
		AND ($6 = '' OR EXISTS (SELECT 1 FROM projects p WHERE p.id IN (project_a, project_b) AND p.mapped_by = $6))
		ORDER BY score DESC, id LIMIT $5`, f.Region, f.CoP, f.Kind, f.Status, f.Limit, f.MappedBy)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[app.Overlap])
}

// ResolveOverlap sets an overlap's status and note under a row lock, after authorize has
// seen it; a new status publishes overlap_resolved.
func (r *Repository) ResolveOverlap(ctx context.Context, id, status, note string, authorize func(app.Overlap) error) (app.Overlap, error) {
	var o app.Overlap
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT "+overlapColumns+" FROM project_overlaps WHERE id = $1 FOR UPDATE", id)
		if err != nil {
			return err
		}
		o, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[app.Overlap])
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.NotFound("overlap %q does not exist", id)
		}
		if err != nil {
			return err
		}
		if err := authorize(o); err != nil {
			return err
		}
		changed := o.Status != status
		o.Status, o.Note, o.UpdatedAt = status, note, r.now()
		if _, err := tx.Exec(ctx, "UPDATE project_overlaps SET status = $2, note = $3, updated_at = $4 WHERE id = $1",
			id, status, note, o.UpdatedAt); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		return r.publish(ctx, tx, events.OverlapResolved{OverlapID: id, Status: status})
	})
	return o, err
}
