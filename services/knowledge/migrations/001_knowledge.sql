-- Places are stored with the codes of every place containing them (ancestors) instead of
-- as ltree: containment is then a GIN array lookup in core PostgreSQL, and no extension,
-- which is per database and lives in one schema, has to be shared with other services.

-- CoPs as registry approved them: the region every CoP-scoped rule needs.
CREATE TABLE cops (
	cop_id text PRIMARY KEY,
	region text NOT NULL
);

CREATE TABLE topics (
	id         text PRIMARY KEY,
	name       text NOT NULL UNIQUE,
	synonyms   text[] NOT NULL,
	created_at timestamptz NOT NULL
);

-- Every term (a topic's name and each synonym) resolves to one topic.
CREATE TABLE topic_terms (
	term       text PRIMARY KEY,
	topic_id   text NOT NULL REFERENCES topics(id),
	topic_name text NOT NULL
);

CREATE TABLE projects (
	id           text PRIMARY KEY,
	cop_id       text NOT NULL,
	region       text NOT NULL,
	title        text NOT NULL,
	organisation text NOT NULL,
	topics       text[] NOT NULL,
	methods      text[] NOT NULL,
	starts_on    date NOT NULL,
	ends_on      date NOT NULL,
	during       daterange GENERATED ALWAYS AS (daterange(starts_on, ends_on, '[]')) STORED,
	origin       text NOT NULL,
	created_at   timestamptz NOT NULL,
	CHECK (ends_on >= starts_on)
);
CREATE INDEX projects_during ON projects USING gist (during);
CREATE INDEX projects_topics ON projects USING gin (topics);
CREATE INDEX projects_region ON projects (region, id);
CREATE INDEX projects_cop ON projects (cop_id, id);

-- The communities a project asks, each with its place's ancestors and the project's window,
-- so that "same group, same or containing place, near in time" is answered by indexes.
CREATE TABLE project_communities (
	project_id text NOT NULL REFERENCES projects(id),
	place      text NOT NULL,
	grp        text NOT NULL,
	ancestors  text[] NOT NULL,
	during     daterange NOT NULL,
	PRIMARY KEY (project_id, place, grp)
);
CREATE INDEX communities_group_place ON project_communities (grp, place);
CREATE INDEX communities_ancestors ON project_communities USING gin (ancestors);
CREATE INDEX communities_during ON project_communities USING gist (during);

-- One row per pair of projects and kind, whichever side's event (or redelivery) found it:
-- the unique constraint is what makes overlap_detected go out once.
CREATE TABLE project_overlaps (
	id          text PRIMARY KEY,
	kind        text NOT NULL,
	score       double precision NOT NULL,
	project_a   text NOT NULL,
	project_b   text NOT NULL,
	cop_ids     text[] NOT NULL,
	regions     text[] NOT NULL,
	status      text NOT NULL DEFAULT 'open',
	note        text NOT NULL DEFAULT '',
	detected_at timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	CHECK (project_a < project_b),
	CONSTRAINT overlaps_pair UNIQUE (project_a, project_b, kind)
);
CREATE INDEX overlaps_regions ON project_overlaps USING gin (regions);
CREATE INDEX overlaps_cops ON project_overlaps USING gin (cop_ids);

-- A person's declared expertise, one row per CoP they declared it from ('' for none).
CREATE TABLE expertise (
	id         text PRIMARY KEY,
	person_id  text NOT NULL,
	cop_id     text NOT NULL,
	region     text NOT NULL,
	topics     text[] NOT NULL,
	level      text NOT NULL,
	visibility text NOT NULL,
	created_at timestamptz NOT NULL,
	CONSTRAINT expertise_person_cop UNIQUE (person_id, cop_id)
);
CREATE INDEX expertise_topics ON expertise USING gin (topics);

-- person_id and the question are emptied when the person is erased; the topics stay as
-- anonymous demand.
CREATE TABLE requests (
	id         text PRIMARY KEY,
	cop_id     text NOT NULL,
	region     text NOT NULL,
	person_id  text,
	topics     text[] NOT NULL,
	question   text NOT NULL,
	status     text NOT NULL DEFAULT 'open',
	created_at timestamptz NOT NULL,
	closed_at  timestamptz
);
CREATE INDEX requests_open_topics ON requests USING gin (topics) WHERE status = 'open';

CREATE TABLE request_matches (
	request_id   text NOT NULL REFERENCES requests(id),
	person_id    text NOT NULL,
	expertise_id text NOT NULL,
	proximity    text NOT NULL,
	rank         integer NOT NULL,
	PRIMARY KEY (request_id, person_id)
);
CREATE INDEX request_matches_person ON request_matches (person_id);

CREATE TABLE answers (
	id         text PRIMARY KEY,
	request_id text NOT NULL REFERENCES requests(id),
	person_id  text,
	body       text NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE TABLE assets (
	id         text PRIMARY KEY,
	cop_id     text NOT NULL,
	region     text NOT NULL,
	title      text NOT NULL,
	url        text NOT NULL,
	topics     text[] NOT NULL,
	licence    text NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX assets_topics ON assets USING gin (topics);

-- Supply from scheduling: topics of sessions held. The region is joined from cops at read
-- time, so a session_held that overtakes its cop_approved still counts once both are in.
CREATE TABLE sessions_held (
	session_id text PRIMARY KEY,
	cop_id     text NOT NULL,
	topics     text[] NOT NULL,
	held_at    timestamptz NOT NULL
);

-- Demand from feedback: topics ranked high in learning-priority polls and topics of
-- sessions whose confidence results were low.
CREATE TABLE feedback_demand (
	poll_id text NOT NULL,
	topic   text NOT NULL,
	cop_id  text NOT NULL,
	region  text NOT NULL DEFAULT '',
	reason  text NOT NULL,
	PRIMARY KEY (poll_id, topic)
);

CREATE VIEW topic_demand AS
	SELECT region, unnest(topics) AS topic, 'request' AS source FROM requests WHERE status = 'open'
	UNION ALL
	SELECT coalesce(nullif(d.region, ''), c.region), d.topic, d.reason
	FROM feedback_demand d LEFT JOIN cops c USING (cop_id);

CREATE VIEW topic_supply AS
	SELECT region, unnest(topics) AS topic, 'expert' AS source FROM expertise WHERE region <> ''
	UNION ALL
	SELECT region, unnest(topics), 'asset' FROM assets
	UNION ALL
	SELECT c.region, unnest(s.topics), 'session' FROM sessions_held s JOIN cops c USING (cop_id);

-- Gaps announced with gap_identified; a row goes when supply arrives or demand ends, so the
-- topic can become a gap (and be announced) again.
CREATE TABLE gaps (
	region        text NOT NULL,
	topic         text NOT NULL,
	identified_at timestamptz NOT NULL,
	PRIMARY KEY (region, topic)
);
