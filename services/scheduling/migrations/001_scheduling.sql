-- CoPs scheduling serves, projected from registry events: their region scopes hubs.
CREATE TABLE cops (
	id        text PRIMARY KEY,
	region    text NOT NULL,
	retired   boolean NOT NULL DEFAULT false,
	-- declining remembers that participation_declining was published, so it is published
	-- once per decline rather than at every session.
	declining boolean NOT NULL DEFAULT false
);

-- Memberships projected from membership events. A row stays when the member leaves
-- (current = false) so that an older member_joined delivered late cannot revive it:
-- as_of is the time of the event that set the row.
CREATE TABLE members (
	cop_id    text NOT NULL,
	person_id text NOT NULL,
	current   boolean NOT NULL,
	as_of     timestamptz NOT NULL,
	PRIMARY KEY (cop_id, person_id)
);
CREATE INDEX members_person ON members (person_id) WHERE current;

-- Who is willing to take which rotating role.
CREATE TABLE rotation (
	cop_id      text NOT NULL,
	person_id   text NOT NULL,
	facilitator boolean NOT NULL,
	note_taker  boolean NOT NULL,
	PRIMARY KEY (cop_id, person_id)
);

CREATE TABLE programs (
	id               text PRIMARY KEY,
	cop_id           text NOT NULL REFERENCES cops(id),
	title            text NOT NULL,
	sessions         integer NOT NULL,
	first_session_at text NOT NULL,
	timezone         text NOT NULL,
	cadence          text NOT NULL,
	duration_minutes integer NOT NULL,
	format           text[] NOT NULL,
	checkins         integer[] NOT NULL,
	created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
	id            text PRIMARY KEY,
	program_id    text NOT NULL REFERENCES programs(id),
	cop_id        text NOT NULL REFERENCES cops(id),
	number        integer NOT NULL,
	starts_at     timestamptz NOT NULL,
	ends_at       timestamptz NOT NULL,
	timezone      text NOT NULL,
	topic         text NOT NULL DEFAULT '',
	location      text NOT NULL DEFAULT '',
	link          text NOT NULL DEFAULT '',
	status        text NOT NULL,
	sequence      integer NOT NULL DEFAULT 0,
	facilitator   text NOT NULL DEFAULT '',
	note_taker    text NOT NULL DEFAULT '',
	host_group    text[] NOT NULL DEFAULT '{}',
	cancel_reason text NOT NULL DEFAULT '',
	notes         text NOT NULL DEFAULT '',
	outcomes      text[] NOT NULL DEFAULT '{}',
	held_at       timestamptz,
	-- members_held is the CoP's size when the session was held: the attendance rate's base.
	members_held  integer NOT NULL DEFAULT 0,
	updated_at    timestamptz NOT NULL DEFAULT now(),
	UNIQUE (program_id, number)
);
CREATE INDEX sessions_cop_time ON sessions (cop_id, starts_at, id);

CREATE TABLE attendance (
	session_id text NOT NULL REFERENCES sessions(id),
	person_id  text NOT NULL,
	status     text NOT NULL,
	PRIMARY KEY (session_id, person_id)
);

-- Secret calendar links: only a hash is kept, so a database dump does not give anyone a
-- working feed link. kind is person or cop.
CREATE TABLE feed_keys (
	kind       text NOT NULL,
	subject    text NOT NULL,
	key_hash   bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (kind, subject)
);

-- People erased from the network, as hashes of their ids: a member_joined delivered after
-- person_erased must not bring them back, and the id itself is not kept.
CREATE TABLE erased (
	person_hash bytea PRIMARY KEY
);
