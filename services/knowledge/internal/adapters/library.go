package adapters

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// ShareAsset stores an asset, its file's bytes when it has one, and publishes
// asset_shared (which names neither the file nor who shared it).
func (r *Repository) ShareAsset(ctx context.Context, a *app.Asset) error {
	a.CreatedAt = r.now()
	var name, ctype string
	var size int64
	if a.File != nil {
		name, ctype, size = a.File.Name, a.File.ContentType, a.File.Size
	}
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO assets (id, cop_id, region, title, url, topics, licence, created_at,
			visibility, shared_by, file_name, content_type, size) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
			a.ID, a.CoPID, a.Region, a.Title, a.URL, a.Topics, a.Licence, a.CreatedAt, a.Visibility, a.SharedBy, name, ctype, size); err != nil {
			return err
		}
		if a.File != nil {
			if _, err := tx.Exec(ctx, "INSERT INTO asset_files (asset_id, content) VALUES ($1, $2)", a.ID, a.File.Content); err != nil {
				return err
			}
		}
		return r.publish(ctx, tx, events.AssetShared{AssetID: a.ID, CoPID: a.CoPID, Region: a.Region, Topics: a.Topics, Licence: a.Licence})
	})
}

// visibleSQL is the visibility rule as a condition on assets a, with the viewer as $1
// national, $2 person, $3 coordinated CoPs, $4 CoPs they are a member of (by grant), $5
// regions they are hub of; membership's events (members) count as much as member grants.
const visibleSQL = `($1 OR a.visibility = 'national'
	OR (a.visibility = 'cop' AND (a.cop_id = ANY($3) OR a.cop_id = ANY($4) OR a.region = ANY($5)
		OR EXISTS (SELECT 1 FROM members m WHERE m.person_id = $2 AND m.cop_id = a.cop_id AND m.active)))
	OR (a.visibility = 'region' AND (a.region = ANY($5)
		OR a.region IN (SELECT c.region FROM cops c WHERE c.cop_id = ANY($3) OR c.cop_id = ANY($4))
		OR a.region IN (SELECT m.region FROM members m WHERE m.person_id = $2 AND m.active))))`

func viewerArgs(v app.Viewer) []any {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return []any{v.National, v.Person, nonNil(v.Coordinated), nonNil(v.MemberOf), nonNil(v.HubOfRegions)}
}

// Assets lists the assets f.Viewer may see, newest first.
func (r *Repository) Assets(ctx context.Context, f app.AssetFilter) ([]app.Asset, error) {
	args := append(viewerArgs(f.Viewer), f.Topic, f.Region, f.CoP, f.Limit)
	rows, err := r.pool.Query(ctx, `SELECT a.id, a.cop_id, a.region, a.title, a.url, a.topics, a.licence, a.visibility,
		a.shared_by, a.file_name, a.content_type, a.size, a.created_at FROM assets a
		WHERE `+visibleSQL+` AND ($6 = '' OR a.topics @> ARRAY[$6]) AND ($7 = '' OR a.region = $7) AND ($8 = '' OR a.cop_id = $8)
		ORDER BY a.created_at DESC, a.id LIMIT $9`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []app.Asset{}
	for rows.Next() {
		var a app.Asset
		var f app.AssetFile
		if err := rows.Scan(&a.ID, &a.CoPID, &a.Region, &a.Title, &a.URL, &a.Topics, &a.Licence, &a.Visibility,
			&a.SharedBy, &f.Name, &f.ContentType, &f.Size, &a.CreatedAt); err != nil {
			return nil, err
		}
		if f.Name != "" {
			a.File = &f
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AssetContent loads an uploaded file, bytes included, if viewer may see its asset.
func (r *Repository) AssetContent(ctx context.Context, id string, viewer app.Viewer) (*app.AssetFile, error) {
	var f app.AssetFile
	err := r.pool.QueryRow(ctx, `SELECT a.file_name, a.content_type, a.size, c.content FROM assets a
		JOIN asset_files c ON c.asset_id = a.id WHERE a.id = $6 AND `+visibleSQL,
		append(viewerArgs(viewer), id)...).Scan(&f.Name, &f.ContentType, &f.Size, &f.Content)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &f, err
}

// Overlap loads one overlap; an unknown one is a 404.
func (r *Repository) Overlap(ctx context.Context, id string) (app.Overlap, error) {
	rows, err := r.pool.Query(ctx, "SELECT "+overlapColumns+" FROM project_overlaps WHERE id = $1", id)
	if err != nil {
		return app.Overlap{}, err
	}
	o, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[app.Overlap])
	if errors.Is(err, pgx.ErrNoRows) {
		return o, apperr.NotFound("no overlap %q that you may see", id)
	}
	return o, err
}

// ProjectsByID loads projects in the order of ids (those unknown left out).
func (r *Repository) ProjectsByID(ctx context.Context, ids []string) ([]*app.Project, error) {
	m, err := loadProjects(ctx, r.pool, ids)
	if err != nil {
		return nil, err
	}
	out := []*app.Project{}
	for _, id := range ids {
		if p, ok := m[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}
