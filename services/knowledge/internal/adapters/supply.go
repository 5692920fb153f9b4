package adapters

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/events"
)

// Asset is a reusable asset a CoP shared.
type Asset struct {
	ID        string    `json:"id"`
	CoPID     string    `json:"cop_id"`
	Region    string    `json:"region"`
	Title     string    `json:"title"`
	URL       string    `json:"url"`
	Topics    []string  `json:"topics"`
	Licence   string    `json:"licence"`
	CreatedAt time.Time `json:"created_at"`
}

// ShareAsset stores an asset, publishes asset_shared and retires the gaps it fills.
func (r *Repository) ShareAsset(ctx context.Context, a *Asset) error {
	a.CreatedAt = r.now()
	return r.tx(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		tax, err := taxonomy(ctx, tx, a.Topics)
		if err != nil {
			return nil, err
		}
		a.Topics = tax.Canonical(a.Topics)
		if _, err := tx.Exec(ctx, `INSERT INTO assets (id, cop_id, region, title, url, topics, licence, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, a.ID, a.CoPID, a.Region, a.Title, a.URL, a.Topics, a.Licence, a.CreatedAt); err != nil {
			return nil, err
		}
		evs := []events.Event{events.AssetShared{AssetID: a.ID, CoPID: a.CoPID, Region: a.Region, Topics: a.Topics, Licence: a.Licence}}
		gaps, err := r.refreshGaps(ctx, tx, a.Region, a.Topics)
		return append(evs, gaps...), err
	})
}

// Assets lists assets on topic in region (empty: any), newest first.
func (r *Repository) Assets(ctx context.Context, topic, region string, limit int) ([]Asset, error) {
	rows, err := r.pool.Query(ctx, `SELECT id, cop_id, region, title, url, topics, licence, created_at FROM assets
		WHERE ($1 = '' OR topics @> ARRAY[$1]) AND ($2 = '' OR region = $2) ORDER BY created_at DESC, id LIMIT $3`,
		topic, region, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Asset])
}

// SessionHeld records a session's topics as supply in its CoP's region (session_held).
func (r *Repository) SessionHeld(ctx context.Context, tx pgx.Tx, ev events.SessionHeld) error {
	terms := append([]string{}, ev.Topics...)
	if ev.Topic != "" {
		terms = append(terms, ev.Topic)
	}
	tax, err := taxonomy(ctx, tx, terms)
	if err != nil {
		return err
	}
	topics := tax.Canonical(terms)
	// The session's own time, not when it was marked held: a session backfilled today took
	// place when it took place (domain.Supplies compares it with demand's).
	at := ev.StartsAt
	if at.IsZero() {
		at = ev.HeldAt
	}
	var region *string
	err = tx.QueryRow(ctx, `INSERT INTO sessions_held (session_id, cop_id, topics, held_at, took_place_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (session_id) DO UPDATE SET topics = excluded.topics
		RETURNING (SELECT region FROM cops WHERE cop_id = $2)`, ev.SessionID, ev.CoPID, topics, ev.HeldAt, at).Scan(&region)
	if err != nil || region == nil {
		return err
	}
	return r.publishGaps(ctx, tx, *region, topics)
}

// Demand is topics feedback found people want to learn, or are not confident about.
type Demand struct {
	PollID, CoPID, Region, Reason string
	Topics                        []string
}

// RecordDemand stores demand from feedback's results and publishes the gaps it opens.
func (r *Repository) RecordDemand(ctx context.Context, tx pgx.Tx, d Demand) error {
	tax, err := taxonomy(ctx, tx, d.Topics)
	if err != nil {
		return err
	}
	topics := tax.Canonical(d.Topics)
	for _, t := range topics {
		if _, err := tx.Exec(ctx, `INSERT INTO feedback_demand (poll_id, topic, cop_id, region, reason, recorded_at)
			VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING`, d.PollID, t, d.CoPID, d.Region, d.Reason, r.now()); err != nil {
			return err
		}
	}
	region := d.Region
	if region == "" {
		if err := tx.QueryRow(ctx, "SELECT coalesce((SELECT region FROM cops WHERE cop_id = $1), '')", d.CoPID).Scan(&region); err != nil {
			return err
		}
	}
	return r.publishGaps(ctx, tx, region, topics)
}

// SessionTopics returns the topics of a held session (nil if unknown).
func SessionTopics(ctx context.Context, tx pgx.Tx, session string) ([]string, error) {
	var topics []string
	err := tx.QueryRow(ctx, "SELECT coalesce((SELECT topics FROM sessions_held WHERE session_id = $1), '{}')", session).Scan(&topics)
	return topics, err
}

func (r *Repository) publishGaps(ctx context.Context, tx pgx.Tx, region string, topics []string) error {
	evs, err := r.refreshGaps(ctx, tx, region, topics)
	if err != nil || len(evs) == 0 {
		return err
	}
	return r.outbox.Publish(ctx, tx, evs...)
}

// Gap is a topic with demand in a region that no supply there meets (domain.Supplies).
type Gap struct {
	Region           string   `json:"region"`
	Topic            string   `json:"topic"`
	Demand           []string `json:"demand"`
	SupplyingRegions []string `json:"supplying_regions"`
}

// gapsSQL lists, per region and topic, the demand that no supply of the region meets, with
// the other regions that have supply on the topic. The supply condition is
// domain.Supplies: experts and assets meet any demand; a held session meets another CoP's
// demand, and its own CoP's only if it took place after the demand arose.
const gapsSQL = `
SELECT d.region, d.topic, array_agg(DISTINCT d.source ORDER BY d.source),
	coalesce((SELECT array_agg(DISTINCT s.region ORDER BY s.region) FROM topic_supply s
		WHERE s.topic = d.topic AND s.region <> d.region), '{}')
FROM topic_demand d
WHERE ($1 = '' OR d.region = $1) AND (cardinality($2::text[]) = 0 OR d.topic = ANY($2))
	AND NOT EXISTS (SELECT 1 FROM topic_supply s WHERE s.region = d.region AND s.topic = d.topic
		AND (s.cop_id IS NULL OR s.cop_id <> d.cop_id OR s.at > d.at))
GROUP BY d.region, d.topic ORDER BY d.region, d.topic`

// Gaps lists the gaps of region (empty: every region), each with the regions that have
// supply on the topic.
func (r *Repository) Gaps(ctx context.Context, region string) ([]Gap, error) {
	return gaps(ctx, r.pool, region, []string{})
}

func gaps(ctx context.Context, q querier, region string, topics []string) ([]Gap, error) {
	rows, err := q.Query(ctx, gapsSQL, region, topics)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Gap])
}

// refreshGaps re-judges topics in region after demand or supply there changed: a topic
// that has just become a gap is recorded and announced (gap_identified) once; one that
// stopped being a gap is forgotten, so it is announced again if it comes back.
func (r *Repository) refreshGaps(ctx context.Context, tx pgx.Tx, region string, topics []string) ([]events.Event, error) {
	if region == "" || len(topics) == 0 {
		return nil, nil
	}
	current, err := gaps(ctx, tx, region, topics)
	if err != nil {
		return nil, err
	}
	var evs []events.Event
	isGap := []string{}
	for _, g := range current {
		isGap = append(isGap, g.Topic)
		tag, err := tx.Exec(ctx, "INSERT INTO gaps (region, topic, identified_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
			region, g.Topic, r.now())
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 1 {
			evs = append(evs, events.GapIdentified{Region: region, Topic: g.Topic, SupplyingRegions: g.SupplyingRegions})
		}
	}
	_, err = tx.Exec(ctx, "DELETE FROM gaps WHERE region = $1 AND topic = ANY($2) AND NOT topic = ANY($3)", region, topics, isGap)
	return evs, err
}
