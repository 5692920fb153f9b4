// Package adapters keeps the registry's state in PostgreSQL. Every change commits together
// with the events it causes (the outbox), so the two can never disagree.
package adapters

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oklog/ulid/v2"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/registry/domain"
	"github.com/copnet/copnet/services/registry/internal/app"
)

var _ app.Repository = (*Repository)(nil)

// Repository stores regions, CoPs and charters; it is the app's Repository.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *bus.Outbox
}

// NewRepository returns a repository writing events through outbox.
func NewRepository(pool *pgxpool.Pool, outbox *bus.Outbox) *Repository {
	return &Repository{pool: pool, outbox: outbox}
}

// AddRegion stores a region and publishes region_created.
func (r *Repository) AddRegion(ctx context.Context, reg domain.Region) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO regions(id, name) VALUES ($1, $2)", reg.ID, reg.Name); err != nil {
			if postgres.IsUniqueViolation(err, "") {
				return apperr.Conflict("region %q already exists", reg.ID)
			}
			return err
		}
		return r.outbox.Publish(ctx, tx, events.RegionCreated{RegionID: reg.ID, Name: reg.Name})
	})
}

// Regions lists every region by id.
func (r *Repository) Regions(ctx context.Context) ([]domain.Region, error) {
	rows, err := r.pool.Query(ctx, "SELECT id, name FROM regions ORDER BY id")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[domain.Region])
}

// RegionExists reports whether region id is known.
func (r *Repository) RegionExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := r.pool.QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM regions WHERE id = $1)", id).Scan(&ok)
	return ok, err
}

// AddCoP stores a proposed CoP with its cop_proposed event.
func (r *Repository) AddCoP(ctx context.Context, c *domain.CoP, ev events.Event) error {
	meeting, err := json.Marshal(c.Meeting)
	if err != nil {
		return err
	}
	contact, err := json.Marshal(c.Contact)
	if err != nil {
		return err
	}
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO cops (id, region, name, scope, purpose, topics,
			host_organisations, meeting, status, stage, applicant_id, contact, round)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING created_at, updated_at`,
			c.ID, c.Region, c.Name, c.Scope, c.Purpose, c.Topics, c.HostOrganisations, meeting,
			c.Status, c.Stage, c.ApplicantID, contact, c.Round).Scan(&c.CreatedAt, &c.UpdatedAt)
		if err != nil {
			return err
		}
		return r.outbox.Publish(ctx, tx, ev)
	})
}

const copColumns = `id, region, name, scope, purpose, topics, host_organisations, meeting, status,
	stage, decision_reason, retired_reason, charter_version, applicant_id, contact, round,
	changes_requested, created_at, updated_at`

func scanCoP(row pgx.Row) (*domain.CoP, error) {
	var c domain.CoP
	var meeting, contact []byte
	err := row.Scan(&c.ID, &c.Region, &c.Name, &c.Scope, &c.Purpose, &c.Topics, &c.HostOrganisations,
		&meeting, &c.Status, &c.Stage, &c.DecisionReason, &c.RetiredReason, &c.CharterVersion,
		&c.ApplicantID, &contact, &c.Round, &c.ChangesRequested, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(contact, &c.Contact); err != nil {
		return nil, fmt.Errorf("cop %s contact: %w", c.ID, err)
	}
	if err := json.Unmarshal(meeting, &c.Meeting); err != nil {
		return nil, fmt.Errorf("cop %s meeting: %w", c.ID, err)
	}
	return &c, nil
}

// CoP loads one CoP.
func (r *Repository) CoP(ctx context.Context, id string) (*domain.CoP, error) {
	c, err := scanCoP(r.pool.QueryRow(ctx, "SELECT "+copColumns+" FROM cops WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("CoP %q does not exist", id)
	}
	return c, err
}

// Update changes one CoP under a row lock: fn sees the current state, and two concurrent
// decisions on the same CoP are serialised, so the second one sees the first's result.
func (r *Repository) Update(ctx context.Context, id string, fn func(*domain.CoP) (events.Event, error)) (*domain.CoP, error) {
	return r.update(ctx, id, fn, nil)
}

// PublishCharter stores the next charter version and moves the CoP to it.
func (r *Repository) PublishCharter(ctx context.Context, id string, ch *domain.Charter) (*domain.CoP, error) {
	return r.update(ctx, id, func(c *domain.CoP) (events.Event, error) { return c.PublishCharter() },
		func(tx pgx.Tx, c *domain.CoP) error {
			ch.CoPID, ch.Version = c.ID, c.CharterVersion
			return tx.QueryRow(ctx, `INSERT INTO charters (cop_id, version, aims, terms_of_reference,
				code_of_practice) VALUES ($1,$2,$3,$4,$5) RETURNING published_at`,
				ch.CoPID, ch.Version, ch.Aims, ch.TermsOfReference, ch.CodeOfPractice).Scan(&ch.PublishedAt)
		})
}

func (r *Repository) update(ctx context.Context, id string, fn func(*domain.CoP) (events.Event, error), also func(pgx.Tx, *domain.CoP) error) (*domain.CoP, error) {
	var out *domain.CoP
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		c, err := scanCoP(tx.QueryRow(ctx, "SELECT "+copColumns+" FROM cops WHERE id = $1 FOR UPDATE", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.NotFound("CoP %q does not exist", id)
		}
		if err != nil {
			return err
		}
		ev, err := fn(c)
		if err != nil {
			return err
		}
		out = c
		if ev == nil {
			return nil
		}
		// A resubmission changes the proposal's own fields too, so all of them are written.
		meeting, err := json.Marshal(c.Meeting)
		if err != nil {
			return err
		}
		contact, err := json.Marshal(c.Contact)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `UPDATE cops SET status=$2, stage=$3, decision_reason=$4, retired_reason=$5,
			charter_version=$6, name=$7, scope=$8, purpose=$9, topics=$10, host_organisations=$11,
			meeting=$12, contact=$13, round=$14, changes_requested=$15, updated_at=now()
			WHERE id=$1 RETURNING updated_at`,
			c.ID, c.Status, c.Stage, c.DecisionReason, c.RetiredReason, c.CharterVersion,
			c.Name, c.Scope, c.Purpose, c.Topics, c.HostOrganisations, meeting, contact, c.Round,
			c.ChangesRequested).Scan(&c.UpdatedAt)
		if err != nil {
			return err
		}
		if also != nil {
			if err := also(tx, c); err != nil {
				return err
			}
		}
		return r.outbox.Publish(ctx, tx, ev)
	})
	return out, err
}

// Charter loads version of a CoP's charter; version 0 means the current one.
func (r *Repository) Charter(ctx context.Context, copID string, version int) (*domain.Charter, error) {
	var ch domain.Charter
	err := r.pool.QueryRow(ctx, `SELECT cop_id, version, aims, terms_of_reference, code_of_practice, published_at
		FROM charters WHERE cop_id = $1 AND ($2 = 0 OR version = $2) ORDER BY version DESC LIMIT 1`,
		copID, version).Scan(&ch.CoPID, &ch.Version, &ch.Aims, &ch.TermsOfReference, &ch.CodeOfPractice, &ch.PublishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		if version == 0 {
			return nil, apperr.NotFound("CoP %q has no charter yet", copID)
		}
		return nil, apperr.NotFound("CoP %q has no charter version %d", copID, version)
	}
	return &ch, err
}

// Charters lists every version of a CoP's charter, the newest first.
func (r *Repository) Charters(ctx context.Context, copID string) ([]domain.Charter, error) {
	rows, err := r.pool.Query(ctx, `SELECT cop_id, version, aims, terms_of_reference, code_of_practice, published_at
		FROM charters WHERE cop_id = $1 ORDER BY version DESC`, copID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Charter, error) {
		var ch domain.Charter
		err := row.Scan(&ch.CoPID, &ch.Version, &ch.Aims, &ch.TermsOfReference, &ch.CodeOfPractice, &ch.PublishedAt)
		return ch, err
	})
}

// ListCoPs returns one page of CoPs in id order (ids are ULIDs, so oldest first) and the
// cursor of the next page, empty on the last page. Keyset paging stays fast and stable
// while CoPs are added.
func (r *Repository) ListCoPs(ctx context.Context, f app.Filter) ([]*domain.CoP, string, error) {
	after, err := DecodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	statuses := make([]string, len(f.Statuses))
	for i, s := range f.Statuses {
		statuses[i] = string(s)
	}
	rows, err := r.pool.Query(ctx, "SELECT "+copColumns+` FROM cops
		WHERE ($1 = '' OR region = $1) AND (cardinality($2::text[]) = 0 OR status = ANY($2))
		AND ($3 = '' OR stage = $3) AND ($4 = '' OR topics @> ARRAY[$4]) AND id > $5
		AND ($7 = '' OR applicant_id = $7)
		ORDER BY id LIMIT $6`, f.Region, statuses, f.Stage, f.Topic, after, f.Limit+1, f.Applicant)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*domain.CoP
	for rows.Next() {
		c, err := scanCoP(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].ID))
	}
	return out, next, nil
}

// DecodeCursor reads a cursor from ListCoPs; a tampered one is a 400 naming the parameter.
// A cursor is the last CoP id of a page, so whatever does not decode to a CoP id (a
// lower-case ULID) was not issued here: accepting it would silently restart the listing
// at an arbitrary point instead of telling the client its cursor is broken.
func DecodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	id := string(b)
	if err != nil || len(id) != ulid.EncodedSize || id != strings.ToLower(id) {
		return "", apperr.Invalid("cursor", "is not a cursor this server issued")
	}
	if _, err := ulid.ParseStrict(id); err != nil {
		return "", apperr.Invalid("cursor", "is not a cursor this server issued")
	}
	return id, nil
}

// ForgetApplicant scrubs an erased person from the CoPs they applied for: the applicant id
// and the contact details go; the CoP itself stays, as the network's record.
func (r *Repository) ForgetApplicant(ctx context.Context, person string) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE cops SET applicant_id = '', contact = '{}', updated_at = now()
		WHERE applicant_id = $1`, person)
		return err
	})
}
