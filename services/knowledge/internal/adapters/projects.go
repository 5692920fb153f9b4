package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/knowledge/domain"
)

// Project is a mapped project or engagement.
type Project struct {
	domain.Project
	Title     string
	Methods   []string
	Origin    string
	CreatedAt time.Time
}

// AddProject canonicalises the project's topics and groups, stores it and publishes
// project_mapped. Overlaps are found by the project_mapped consumer, the same way for
// projects of this node and of child nodes.
func (r *Repository) AddProject(ctx context.Context, p *Project) error {
	p.CreatedAt, p.Origin = r.now(), r.node
	return r.tx(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		if err := canonicalise(ctx, tx, &p.Project); err != nil {
			return nil, err
		}
		if _, err := insertProject(ctx, tx, p); err != nil {
			return nil, err
		}
		return []events.Event{mapped(p)}, nil
	})
}

func mapped(p *Project) events.ProjectMapped {
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

// canonicalise names a project's topics and population groups through the taxonomy.
func canonicalise(ctx context.Context, q querier, p *domain.Project) error {
	groups := make([]string, len(p.Communities))
	for i, c := range p.Communities {
		groups[i] = c.Group
	}
	tax, err := taxonomy(ctx, q, p.Topics, groups)
	if err != nil {
		return err
	}
	p.Topics = tax.Canonical(p.Topics)
	var cs []domain.Community
	for _, c := range p.Communities {
		c.Group = tax.One(c.Group)
		dup := false
		for _, o := range cs {
			dup = dup || o == c
		}
		if !dup {
			cs = append(cs, c)
		}
	}
	p.Communities = cs
	return nil
}

// insertProject stores p unless a project with its id exists (a redelivered or
// self-originated project_mapped); it reports whether it stored it.
func insertProject(ctx context.Context, tx pgx.Tx, p *Project) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO projects (id, cop_id, region, title, organisation, topics,
		methods, starts_on, ends_on, origin, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
		ON CONFLICT (id) DO NOTHING`,
		p.ID, p.CoPID, p.Region, p.Title, p.Organisation, p.Topics, p.Methods, p.StartsOn, p.EndsOn, p.Origin, p.CreatedAt)
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

// BadInput is an event no retry can make acceptable.
type BadInput struct{ Err error }

func (e *BadInput) Error() string { return e.Err.Error() }
func (e *BadInput) Unwrap() error { return e.Err }

// MapProject applies a project_mapped event from any node: it stores a project from
// elsewhere in this node's map, then looks for overlaps with every project the node knows.
func (r *Repository) MapProject(ctx context.Context, tx pgx.Tx, ev events.ProjectMapped, env events.Envelope) error {
	p := &Project{Project: domain.Project{ID: ev.ProjectID, CoPID: ev.CoPID, Region: ev.Region,
		Organisation: ev.Organisation, Topics: ev.Topics}, Title: ev.Title, Methods: []string{}, Origin: env.Source, CreatedAt: r.now()}
	var err error
	if p.StartsOn, err = time.Parse(time.DateOnly, ev.StartsOn); err != nil {
		return &BadInput{fmt.Errorf("starts_on: %w", err)}
	}
	if p.EndsOn, err = time.Parse(time.DateOnly, ev.EndsOn); err != nil {
		return &BadInput{fmt.Errorf("ends_on: %w", err)}
	}
	if p.EndsOn.Before(p.StartsOn) {
		return &BadInput{fmt.Errorf("ends_on %s is before starts_on %s", ev.EndsOn, ev.StartsOn)}
	}
	for _, c := range ev.Communities {
		if !domain.ValidPlace(c.Place) {
			return &BadInput{fmt.Errorf("place %q is not a place code", c.Place)}
		}
		p.Communities = append(p.Communities, domain.Community{Place: c.Place, Group: c.Group})
	}
	if err := canonicalise(ctx, tx, &p.Project); err != nil {
		return err
	}
	if _, err := insertProject(ctx, tx, p); err != nil {
		return err
	}
	evs, err := r.detectOverlaps(ctx, tx, ev.ProjectID)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	return r.outbox.Publish(ctx, tx, evs...)
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

func (r *Repository) detectOverlaps(ctx context.Context, tx pgx.Tx, id string) ([]events.Event, error) {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", overlapLock); err != nil {
		return nil, err
	}
	gap := r.rule.GapDays
	if gap <= 0 {
		gap = domain.DefaultGapDays
	}
	var ids []string
	rows, err := tx.Query(ctx, CandidatesSQL, id, gap)
	if err != nil {
		return nil, err
	}
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, err
	}
	projects, err := loadProjects(ctx, tx, append(ids, id))
	if err != nil {
		return nil, err
	}
	mine, ok := projects[id]
	if !ok {
		return nil, fmt.Errorf("project %s vanished", id)
	}
	var evs []events.Event
	for _, other := range ids {
		o := projects[other]
		if !domain.DetectedHere(r.node, r.tier, mine.Origin, mine.Region, o.Origin, o.Region) {
			continue // a node below this one sees both and reports it
		}
		verdict, ok := r.rule.Compare(mine.Project, o.Project)
		if !ok {
			continue
		}
		a, b := domain.OrderedPair(mine.ID, o.ID)
		ov := events.OverlapDetected{OverlapID: events.NewID(), Kind: string(verdict.Kind), Score: verdict.Score,
			ProjectIDs: []string{a, b}, CoPIDs: distinct(mine.CoPID, o.CoPID), Regions: distinct(mine.Region, o.Region)}
		tag, err := tx.Exec(ctx, `INSERT INTO project_overlaps (id, kind, score, project_a, project_b, cop_ids, regions,
			detected_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8) ON CONFLICT ON CONSTRAINT overlaps_pair DO NOTHING`,
			ov.OverlapID, ov.Kind, ov.Score, a, b, ov.CoPIDs, ov.Regions, r.now())
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 1 {
			evs = append(evs, ov)
		}
	}
	return evs, nil
}

func distinct(a, b string) []string {
	if a == b {
		return []string{a}
	}
	if b < a {
		a, b = b, a
	}
	return []string{a, b}
}

const projectColumns = `p.id, p.cop_id, p.region, p.title, p.organisation, p.topics, p.methods, p.starts_on,
	p.ends_on, p.origin, p.created_at,
	coalesce((SELECT array_agg(c.place || '|' || c.grp ORDER BY c.place, c.grp) FROM project_communities c WHERE c.project_id = p.id), '{}')`

func scanProject(row pgx.Row) (*Project, error) {
	var p Project
	var communities []string
	if err := row.Scan(&p.ID, &p.CoPID, &p.Region, &p.Title, &p.Organisation, &p.Topics, &p.Methods,
		&p.StartsOn, &p.EndsOn, &p.Origin, &p.CreatedAt, &communities); err != nil {
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

func loadProjects(ctx context.Context, q querier, ids []string) (map[string]*Project, error) {
	rows, err := q.Query(ctx, "SELECT "+projectColumns+" FROM projects p WHERE p.id = ANY($1)", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out[p.ID] = p
	}
	return out, rows.Err()
}

// ProjectFilter selects projects; empty fields do not filter.
type ProjectFilter struct {
	CoP, Region, Topic string
	Limit              int
}

// Projects lists projects, newest window first.
func (r *Repository) Projects(ctx context.Context, f ProjectFilter) ([]*Project, error) {
	rows, err := r.pool.Query(ctx, "SELECT "+projectColumns+` FROM projects p
		WHERE ($1 = '' OR p.cop_id = $1) AND ($2 = '' OR p.region = $2) AND ($3 = '' OR p.topics @> ARRAY[$3])
		ORDER BY p.starts_on DESC, p.id LIMIT $4`, f.CoP, f.Region, f.Topic, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Overlap is two projects flagged together.
type Overlap struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Score      float64   `json:"score"`
	ProjectIDs []string  `json:"project_ids"`
	CoPIDs     []string  `json:"cop_ids"`
	Regions    []string  `json:"regions"`
	Status     string    `json:"status"`
	Note       string    `json:"note"`
	DetectedAt time.Time `json:"detected_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

const overlapColumns = "id, kind, score, ARRAY[project_a, project_b], cop_ids, regions, status, note, detected_at, updated_at"

// OverlapFilter selects overlaps; empty fields do not filter.
type OverlapFilter struct {
	Region, CoP, Kind, Status string
	Limit                     int
}

// Overlaps lists overlaps, highest score first.
func (r *Repository) Overlaps(ctx context.Context, f OverlapFilter) ([]Overlap, error) {
	rows, err := r.pool.Query(ctx, "SELECT "+overlapColumns+` FROM project_overlaps
		WHERE ($1 = '' OR regions @> ARRAY[$1]) AND ($2 = '' OR cop_ids @> ARRAY[$2])
		AND ($3 = '' OR kind = $3) AND ($4 = '' OR status = $4)
		ORDER BY score DESC, id LIMIT $5`, f.Region, f.CoP, f.Kind, f.Status, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Overlap])
}

// ResolveOverlap sets an overlap's status and note under a row lock, after authorize has
// seen it; a new status publishes overlap_resolved.
func (r *Repository) ResolveOverlap(ctx context.Context, id, status, note string, authorize func(Overlap) error) (Overlap, error) {
	var o Overlap
	err := r.tx(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		rows, err := tx.Query(ctx, "SELECT "+overlapColumns+" FROM project_overlaps WHERE id = $1 FOR UPDATE", id)
		if err != nil {
			return nil, err
		}
		o, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Overlap])
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, apperr.NotFound("overlap %q does not exist", id)
		}
		if err != nil {
			return nil, err
		}
		if err := authorize(o); err != nil {
			return nil, err
		}
		changed := o.Status != status
		o.Status, o.Note, o.UpdatedAt = status, note, r.now()
		if _, err := tx.Exec(ctx, "UPDATE project_overlaps SET status = $2, note = $3, updated_at = $4 WHERE id = $1",
			id, status, note, o.UpdatedAt); err != nil {
			return nil, err
		}
		if !changed {
			return nil, nil
		}
		return []events.Event{events.OverlapResolved{OverlapID: id, Status: status}}, nil
	})
	return o, err
}
