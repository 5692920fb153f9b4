-- The console's projections, built only from events. Each event type has one consumer, and
-- consumers run in any order relative to each other, so every row is written so that
-- applying the same set of events in any order gives the same row: ranks and event times
-- decide which value wins, never arrival order.

CREATE TABLE regions (
	id   text PRIMARY KEY,
	name text NOT NULL DEFAULT ''
);

CREATE TABLE cops (
	id              text PRIMARY KEY,
	region          text NOT NULL DEFAULT '',
	name            text NOT NULL DEFAULT '',
	scope           text NOT NULL DEFAULT '',
	topics          text[] NOT NULL DEFAULT '{}',
	-- status '' means only other services' events have named this CoP so far.
	status          text NOT NULL DEFAULT '',
	-- proposed 1 < approved, declined 2 < retired 3: the registry's state machine only
	-- moves forward, so the highest rank seen is the current status.
	status_rank     integer NOT NULL DEFAULT 0,
	status_at       timestamptz,
	stage           text NOT NULL DEFAULT '',
	stage_at        timestamptz,
	charter_version integer NOT NULL DEFAULT 0,
	assessed_stage  text NOT NULL DEFAULT '',
	assessed_at     timestamptz,
	declining       boolean NOT NULL DEFAULT false,
	declining_at    timestamptz,
	early_rate      double precision,
	recent_rate     double precision
);
CREATE INDEX cops_region ON cops (region, id);

-- Who belongs where, only to count them: person_key is a one-way digest of the person id,
-- and the console holds no names of people. A membership is current when its latest join
-- is later than its latest leave; an erased person's leave is 'infinity'.
CREATE TABLE memberships (
	cop_id     text NOT NULL,
	person_key text NOT NULL,
	joined_at  timestamptz,
	left_at    timestamptz,
	PRIMARY KEY (cop_id, person_key)
);

CREATE TABLE sessions (
	id            text PRIMARY KEY,
	cop_id        text NOT NULL,
	number        integer NOT NULL DEFAULT 0,
	starts_at     timestamptz,
	topic         text NOT NULL DEFAULT '',
	sequence      integer NOT NULL DEFAULT -1,
	held_at       timestamptz,
	cancelled     boolean NOT NULL DEFAULT false,
	attended      integer,
	apologies     integer,
	absent        integer,
	attendance_at timestamptz
);
CREATE INDEX sessions_cop ON sessions (cop_id);

-- Polls and their aggregates. Results below the feedback threshold are never published, so
-- a closed poll without results is one whose results were withheld.
CREATE TABLE polls (
	id              text PRIMARY KEY,
	cop_id          text NOT NULL,
	session_id      text NOT NULL DEFAULT '',
	kind            text NOT NULL DEFAULT '',
	purpose         text NOT NULL DEFAULT '',
	closed          boolean NOT NULL DEFAULT false,
	responses       integer,
	confidence_mean double precision,
	usefulness_mean double precision,
	meets_needs     jsonb,
	published_at    timestamptz
);
CREATE INDEX polls_cop ON polls (cop_id);

CREATE TABLE projects (
	id           text PRIMARY KEY,
	cop_id       text NOT NULL,
	region       text NOT NULL,
	title        text NOT NULL DEFAULT '',
	organisation text NOT NULL DEFAULT '',
	topics       text[] NOT NULL DEFAULT '{}',
	communities  jsonb NOT NULL DEFAULT '[]',
	starts_on    text NOT NULL DEFAULT '',
	ends_on      text NOT NULL DEFAULT ''
);

CREATE TABLE cop_overlaps (
	id          text PRIMARY KEY,
	kind        text NOT NULL DEFAULT '',
	score       double precision NOT NULL DEFAULT 0,
	project_ids text[] NOT NULL DEFAULT '{}',
	cop_ids     text[] NOT NULL DEFAULT '{}',
	regions     text[] NOT NULL DEFAULT '{}',
	status      text NOT NULL DEFAULT 'open',
	detected_at timestamptz
);

CREATE TABLE gaps (
	region            text NOT NULL,
	topic             text NOT NULL,
	supplying_regions text[] NOT NULL DEFAULT '{}',
	identified_at     timestamptz NOT NULL,
	PRIMARY KEY (region, topic)
);

-- Federation health as far as events tell it: what each origin node has sent us and when.
CREATE TABLE origins (
	node           text PRIMARY KEY,
	events         bigint NOT NULL DEFAULT 0,
	first_event_at timestamptz NOT NULL,
	last_event_at  timestamptz NOT NULL
);
