-- Figures by the session's own time, one attendance rate, derived activity, erasure
-- tombstones.
--
-- A session counts on the day it took place, not the day someone marked it held: a session
-- backfilled today that took place in March is a March session. session_held and
-- attendance_recorded carry the session's start (starts_at, optional); the scheduled start
-- is the next best word, and the moment it was marked held the last.
--
-- The attendance rate is members present ÷ members of the CoP on the roster when the session
-- took place (attendance_recorded's members, optional): scheduling's definition. Events
-- without a roster size fall back to the people recorded (attended + apologies + absent).
ALTER TABLE sessions
	ADD COLUMN members integer,
	ADD COLUMN took_place_at timestamptz;

DROP INDEX sessions_region_trend;
DROP INDEX sessions_cop_trend;
DROP INDEX sessions_cop_held;
DROP INDEX sessions_held;
ALTER TABLE sessions DROP COLUMN rate, DROP COLUMN trend_at;
ALTER TABLE sessions
	-- when the session takes or took place, as far as any event tells: orders trends.
	ADD COLUMN trend_at timestamptz GENERATED ALWAYS AS (coalesce(took_place_at, starts_at, held_at)) STORED,
	-- when a held session took place; NULL while it is not held.
	ADD COLUMN held_on timestamptz GENERATED ALWAYS AS (
		CASE WHEN held_at IS NOT NULL THEN coalesce(took_place_at, starts_at, held_at) END) STORED,
	-- A guest recorded beyond the roster cannot push the rate over 1: members present are at
	-- most the members.
	ADD COLUMN rate double precision GENERATED ALWAYS AS (
		CASE WHEN attended IS NULL THEN NULL
		WHEN members > 0 THEN least(attended, members)::double precision / members
		WHEN attended + coalesce(apologies, 0) + coalesce(absent, 0) > 0
		THEN attended::double precision / (attended + coalesce(apologies, 0) + coalesce(absent, 0)) END) STORED;
CREATE INDEX sessions_region_trend ON sessions (region, trend_at DESC NULLS LAST, id COLLATE "C" DESC)
	WHERE rate IS NOT NULL AND region <> '';
CREATE INDEX sessions_cop_trend ON sessions (cop_id, trend_at DESC NULLS LAST, id COLLATE "C" DESC)
	WHERE rate IS NOT NULL;
CREATE INDEX sessions_cop_held ON sessions (cop_id, held_on) WHERE held_on IS NOT NULL AND NOT cancelled;
CREATE INDEX sessions_held ON sessions (held_on, region) WHERE region <> '' AND NOT cancelled;

-- A confidence point is dated by its session's time (else when its results were
-- published), so a late evaluation of an old session takes the old session's place.
ALTER TABLE polls ADD COLUMN dated_at timestamptz;
UPDATE polls p SET dated_at = coalesce((SELECT s.trend_at FROM sessions s WHERE s.id = p.session_id), p.published_at);
DROP INDEX polls_region_confidence;
CREATE INDEX polls_region_confidence ON polls (region, dated_at DESC, id COLLATE "C" DESC)
	WHERE purpose = 'evaluation' AND confidence_mean IS NOT NULL AND published_at IS NOT NULL AND region <> '';
CREATE INDEX polls_session ON polls (session_id) WHERE session_id <> '';

-- The registry stores proposed/approved/declined/retired; the console derives whether an
-- approved CoP is active (a session held in the last 90 days) or dormant (90 days since its
-- approval and its last session). last_held_on is the CoP's latest held session's time;
-- quiet_since the start of its current silence.
ALTER TABLE cops ADD COLUMN last_held_on timestamptz;
ALTER TABLE cops ADD COLUMN quiet_since timestamptz GENERATED ALWAYS AS (greatest(status_at, last_held_on)) STORED;
CREATE INDEX cops_region_active ON cops (region, last_held_on) WHERE status = 'approved';
CREATE INDEX cops_region_quiet ON cops (region, quiet_since) WHERE status = 'approved';

-- People erased: a late member_joined or member_left after person_erased must not write
-- the person's digest again. Their memberships are deleted, not only ended.
CREATE TABLE erased_people (person_key text PRIMARY KEY);
INSERT INTO erased_people SELECT DISTINCT person_key FROM memberships WHERE left_at = 'infinity';
DELETE FROM memberships WHERE left_at = 'infinity';

CREATE OR REPLACE FUNCTION recount_aggregates() RETURNS void LANGUAGE sql AS $$
	UPDATE cops c SET members = coalesce((SELECT count(*) FROM memberships m WHERE m.cop_id = c.id AND m.current), 0),
		last_held_on = (SELECT max(s.held_on) FROM sessions s WHERE s.cop_id = c.id AND NOT s.cancelled);
	UPDATE sessions s SET region = coalesce((SELECT c.region FROM cops c WHERE c.id = s.cop_id AND c.status <> ''), '');
	UPDATE polls p SET region = coalesce((SELECT c.region FROM cops c WHERE c.id = p.cop_id AND c.status <> ''), ''),
		dated_at = coalesce((SELECT s.trend_at FROM sessions s WHERE s.id = p.session_id), p.published_at);
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
		SELECT (held_on AT TIME ZONE 'UTC')::date, region, count(*) FROM sessions
		WHERE region <> '' AND NOT cancelled AND held_on IS NOT NULL GROUP BY 1, 2;
	DELETE FROM network_counts;
	INSERT INTO network_counts (figure, n)
		SELECT 'open_overlaps', count(*) FROM cop_overlaps WHERE status = 'open' AND detected_at IS NOT NULL;
$$;

SELECT recount_aggregates();
