-- Pre-aggregated figures, so that a page or a read costs O(regions + bounded windows), not
-- O(every row). The handlers keep them in the transaction that applies the event: every
-- change to a row that feeds a figure is turned into a delta (the row's contribution after
-- minus before), so the figures stay the sum of the rows' contributions whatever order the
-- events arrive in, and applying an event that changes no row changes no figure.
-- recount_aggregates() rebuilds all of it from the rows: the migration uses it to fill the
-- tables from an existing projection, and tests use it to check the incremental upkeep.

-- A CoP's current members, kept by the membership handlers.
ALTER TABLE cops ADD COLUMN members integer NOT NULL DEFAULT 0;
CREATE INDEX cops_region_status ON cops (region, status, id);

ALTER TABLE memberships ADD COLUMN current boolean
	GENERATED ALWAYS AS (joined_at IS NOT NULL AND (left_at IS NULL OR joined_at > left_at)) STORED;
CREATE INDEX memberships_person ON memberships (person_key);

-- region is the CoP's region while the CoP counts (its status is known), else '': the
-- region trends and the recent-sessions window are index range scans on it.
ALTER TABLE sessions
	ADD COLUMN region text NOT NULL DEFAULT '',
	-- when orders a trend: when held, else when planned (NULL sorts oldest).
	ADD COLUMN trend_at timestamptz GENERATED ALWAYS AS (coalesce(held_at, starts_at)) STORED,
	ADD COLUMN rate double precision GENERATED ALWAYS AS (
		CASE WHEN attended IS NOT NULL AND attended + coalesce(apologies, 0) + coalesce(absent, 0) > 0
		THEN attended::double precision / (attended + coalesce(apologies, 0) + coalesce(absent, 0)) END) STORED;
CREATE INDEX sessions_region_trend ON sessions (region, trend_at DESC NULLS LAST, id COLLATE "C" DESC)
	WHERE rate IS NOT NULL AND region <> '';
CREATE INDEX sessions_cop_trend ON sessions (cop_id, trend_at DESC NULLS LAST, id COLLATE "C" DESC)
	WHERE rate IS NOT NULL;
CREATE INDEX sessions_cop_held ON sessions (cop_id, held_at) WHERE held_at IS NOT NULL AND NOT cancelled;
CREATE INDEX sessions_held ON sessions (held_at, region) WHERE region <> '' AND NOT cancelled;

ALTER TABLE polls ADD COLUMN region text NOT NULL DEFAULT '';
CREATE INDEX polls_region_confidence ON polls (region, published_at DESC, id COLLATE "C" DESC)
	WHERE purpose = 'evaluation' AND confidence_mean IS NOT NULL AND published_at IS NOT NULL AND region <> '';
CREATE INDEX polls_cop_checkin ON polls (cop_id, published_at DESC, id)
	WHERE purpose = 'checkin' AND meets_needs IS NOT NULL AND published_at IS NOT NULL;

CREATE INDEX projects_cop ON projects (cop_id, starts_on, id);

CREATE INDEX cop_overlaps_open ON cop_overlaps (score DESC, id) WHERE status = 'open' AND detected_at IS NOT NULL;
CREATE INDEX cop_overlaps_cops ON cop_overlaps USING gin (cop_ids);

-- The open overlaps touching each region, best first.
CREATE TABLE overlap_regions (
	region     text NOT NULL,
	overlap_id text NOT NULL,
	score      double precision NOT NULL,
	PRIMARY KEY (region, overlap_id)
);
CREATE INDEX overlap_regions_score ON overlap_regions (region, score DESC, overlap_id);

-- Per-region counters. figure is one of: named (CoP rows naming the region, whatever
-- their status: the region exists for the console), cops, status:<status>,
-- stage:<stage>, members, declining, open_overlaps.
CREATE TABLE region_counts (
	region text NOT NULL,
	figure text NOT NULL,
	n      bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (region, figure)
);

-- Sessions held (not cancelled) per region and UTC day: "held in the last 90 days" sums
-- the whole days of the window here and counts the two partial days from sessions_held.
CREATE TABLE region_held_days (
	day    date NOT NULL,
	region text NOT NULL,
	n      bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (day, region)
);

-- National counters: open_overlaps.
CREATE TABLE network_counts (
	figure text PRIMARY KEY,
	n      bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION recount_aggregates() RETURNS void LANGUAGE sql AS $$
	UPDATE cops c SET members = coalesce((SELECT count(*) FROM memberships m WHERE m.cop_id = c.id AND m.current), 0);
	UPDATE sessions s SET region = coalesce((SELECT c.region FROM cops c WHERE c.id = s.cop_id AND c.status <> ''), '');
	UPDATE polls p SET region = coalesce((SELECT c.region FROM cops c WHERE c.id = p.cop_id AND c.status <> ''), '');
	DELETE FROM overlap_regions;
	INSERT INTO overlap_regions (region, overlap_id, score)
		SELECT DISTINCT r, o.id, o.score FROM cop_overlaps o, unnest(o.regions) r
		WHERE o.status = 'open' AND o.detected_at IS NOT NULL;
	DELETE FROM region_counts;
	INSERT INTO region_counts (region, figure, n)
		SELECT region, figure, sum(n) FROM (
			SELECT region, 'named' AS figure, 1 AS n FROM cops WHERE region <> ''
			UNION ALL SELECT region, 'cops', 1 FROM cops WHERE region <> '' AND status <> ''
			UNION ALL SELECT region, 'status:' || status, 1 FROM cops WHERE region <> '' AND status <> ''
			UNION ALL SELECT region, 'stage:' || stage, 1 FROM cops
				WHERE region <> '' AND status IN ('proposed', 'approved') AND stage <> ''
			UNION ALL SELECT region, 'members', members FROM cops WHERE region <> '' AND status <> ''
			UNION ALL SELECT region, 'declining', 1 FROM cops
				WHERE region <> '' AND status NOT IN ('', 'retired') AND declining
			UNION ALL SELECT region, 'open_overlaps', 1 FROM overlap_regions
		) x GROUP BY region, figure;
	DELETE FROM region_held_days;
	INSERT INTO region_held_days (day, region, n)
		SELECT (held_at AT TIME ZONE 'UTC')::date, region, count(*) FROM sessions
		WHERE region <> '' AND NOT cancelled AND held_at IS NOT NULL GROUP BY 1, 2;
	DELETE FROM network_counts;
	INSERT INTO network_counts (figure, n)
		SELECT 'open_overlaps', count(*) FROM cop_overlaps WHERE status = 'open' AND detected_at IS NOT NULL;
$$;

SELECT recount_aggregates();
