-- Memberships as membership's events tell them (member_joined, member_left), for who may act
-- in a CoP and where an expert who declared without a CoP is. Events of one membership reach
-- the two consumers in any order: each row keeps the envelope time (and id, to break ties) of
-- the event that set it, and only a later event changes it.
CREATE TABLE members (
	cop_id     text NOT NULL,
	person_id  text NOT NULL,
	region     text NOT NULL,
	active     boolean NOT NULL,
	version    timestamptz NOT NULL,
	event_id   text NOT NULL,
	PRIMARY KEY (cop_id, person_id)
);
CREATE INDEX members_person ON members (person_id) WHERE active;

-- People erased (person_erased), by a keyed hash of the id rather than the id: a late event
-- about them must not write their id again, and this table must not keep it either.
CREATE TABLE erased (
	person_hash bytea PRIMARY KEY
);

-- When demand was recorded and when a session took place: a CoP's own session counts as
-- supply for its own demand only if it took place after the demand arose (domain.Supply).
ALTER TABLE feedback_demand ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE sessions_held ADD COLUMN took_place_at timestamptz;
UPDATE sessions_held SET took_place_at = held_at;
ALTER TABLE sessions_held ALTER COLUMN took_place_at SET NOT NULL;

-- Demand, with the CoP it comes from and when it arose.
CREATE OR REPLACE VIEW topic_demand AS
	SELECT region, unnest(topics) AS topic, 'request' AS source, cop_id, created_at AS at FROM requests WHERE status = 'open'
	UNION ALL
	SELECT coalesce(nullif(d.region, ''), c.region), d.topic, d.reason, d.cop_id, d.recorded_at
	FROM feedback_demand d LEFT JOIN cops c USING (cop_id);

-- Supply: experts who are members of the CoP they declared from, experts who declared
-- without a CoP in every region they are a member in, assets, and held sessions (with their
-- CoP and time; experts and assets have neither).
CREATE OR REPLACE VIEW topic_supply AS
	SELECT e.region, unnest(e.topics) AS topic, 'expert' AS source, NULL::text AS cop_id, NULL::timestamptz AS at
	FROM expertise e WHERE e.cop_id <> ''
		AND EXISTS (SELECT 1 FROM members m WHERE m.cop_id = e.cop_id AND m.person_id = e.person_id AND m.active)
	UNION ALL
	SELECT m.region, t.topic, 'expert', NULL, NULL
	FROM expertise e JOIN members m ON m.person_id = e.person_id AND m.active CROSS JOIN LATERAL unnest(e.topics) t(topic)
	WHERE e.cop_id = ''
	UNION ALL
	SELECT region, unnest(topics), 'asset', NULL, NULL FROM assets
	UNION ALL
	SELECT c.region, unnest(s.topics), 'session', s.cop_id, s.took_place_at FROM sessions_held s JOIN cops c USING (cop_id);
