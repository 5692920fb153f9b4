package adapters

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// RecordSessionHeld stores a held session's topics as supply and returns its CoP's region
// ("" while the CoP is unknown). A redelivery updates the topics.
func (r *Repository) RecordSessionHeld(ctx context.Context, s app.HeldSession) (string, error) {
	var region *string
	err := r.q(ctx).QueryRow(ctx, `INSERT INTO sessions_held (session_id, cop_id, topics, held_at, took_place_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (session_id) DO UPDATE SET topics = excluded.topics
		RETURNING (SELECT region FROM cops WHERE cop_id = $2)`, s.SessionID, s.CoPID, s.Topics, s.HeldAt, s.TookPlace).Scan(&region)
	if err != nil || region == nil {
		return "", err
	}
	return *region, nil
}

// RecordDemand stores demand from feedback's results and returns the region it is in (the
// CoP's when the results name none) and its topics.
func (r *Repository) RecordDemand(ctx context.Context, d app.Demand) (string, []string, error) {
	q := r.q(ctx)
	for _, t := range d.Topics {
		if _, err := q.Exec(ctx, `INSERT INTO feedback_demand (poll_id, topic, cop_id, region, reason, recorded_at)
			VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING`, d.PollID, t, d.CoPID, d.Region, d.Reason, r.now()); err != nil {
			return "", nil, err
		}
	}
	region := d.Region
	if region == "" {
		if err := q.QueryRow(ctx, "SELECT coalesce((SELECT region FROM cops WHERE cop_id = $1), '')", d.CoPID).Scan(&region); err != nil {
			return "", nil, err
		}
	}
	return region, d.Topics, nil
}

// SessionTopics returns the topics of a held session (none if unknown).
func (r *Repository) SessionTopics(ctx context.Context, session string) ([]string, error) {
	var topics []string
	err := r.q(ctx).QueryRow(ctx, "SELECT coalesce((SELECT topics FROM sessions_held WHERE session_id = $1), '{}')", session).Scan(&topics)
	return topics, err
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
func (r *Repository) Gaps(ctx context.Context, region string) ([]app.Gap, error) {
	return gaps(ctx, r.pool, region, []string{})
}

func gaps(ctx context.Context, q querier, region string, topics []string) ([]app.Gap, error) {
	rows, err := q.Query(ctx, gapsSQL, region, topics)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[app.Gap])
}

// RefreshGaps judges topics in region again after demand or supply there changed: a topic
// that has just become a gap is recorded and announced (gap_identified) once; one that
// stopped being a gap is forgotten and announced (gap_filled), so it is announced again if
// it comes back.
func (r *Repository) RefreshGaps(ctx context.Context, region string, topics []string) error {
	if region == "" || len(topics) == 0 {
		return nil
	}
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		current, err := gaps(ctx, tx, region, topics)
		if err != nil {
			return err
		}
		var evs []events.Event
		isGap := []string{}
		for _, g := range current {
			isGap = append(isGap, g.Topic)
			tag, err := tx.Exec(ctx, "INSERT INTO gaps (region, topic, identified_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
				region, g.Topic, r.now())
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				evs = append(evs, events.GapIdentified{Region: region, Topic: g.Topic, SupplyingRegions: g.SupplyingRegions})
			}
		}
		// A gap that closed is announced (gap_filled), so the network's reports can count
		// the gaps filled, not only those still open.
		rows, err := tx.Query(ctx, "DELETE FROM gaps WHERE region = $1 AND topic = ANY($2) AND NOT topic = ANY($3) RETURNING topic", region, topics, isGap)
		if err != nil {
			return err
		}
		filled, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, topic := range filled {
			evs = append(evs, events.GapFilled{Region: region, Topic: topic})
		}
		return r.publish(ctx, tx, evs...)
	})
}
