-- People's mail: the contact details membership shares on the node-private channel, the
-- preferences people set, notify's own projection of who holds which role, the decisions
-- it took (one per event, person and kind) and the notices waiting for a digest.
-- Webhooks live in migrations 1xx (internal/webhooks).

-- contacts is the private copy of a person's address; person_erased deletes the row.
CREATE TABLE contacts (
	person_id text PRIMARY KEY,
	address text NOT NULL,
	name text NOT NULL DEFAULT '',
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- preferences: how a person wants each kind of notice; no row means "immediately".
CREATE TABLE preferences (
	person_id text NOT NULL,
	kind text NOT NULL,
	cadence text NOT NULL CHECK (cadence IN ('immediately', 'daily', 'weekly', 'off')),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (person_id, kind)
);

-- The projection of roles: CoPs and their region, members, coordinators, hub officers.
CREATE TABLE cops (
	cop_id text PRIMARY KEY,
	region text NOT NULL DEFAULT '',
	name text NOT NULL DEFAULT '',
	proposer_id text NOT NULL DEFAULT '',
	charter_version int NOT NULL DEFAULT 0
);
CREATE TABLE members (
	cop_id text NOT NULL,
	person_id text NOT NULL,
	accepted_version int NOT NULL DEFAULT 0,
	PRIMARY KEY (cop_id, person_id)
);
CREATE INDEX members_person ON members (person_id);
CREATE TABLE coordinators (
	cop_id text NOT NULL,
	person_id text NOT NULL,
	PRIMARY KEY (cop_id, person_id)
);
CREATE INDEX coordinators_person ON coordinators (person_id);
CREATE TABLE hub_officers (
	region text NOT NULL,
	person_id text NOT NULL,
	PRIMARY KEY (region, person_id)
);
CREATE INDEX hub_officers_person ON hub_officers (person_id);
CREATE TABLE national_officers (
	person_id text PRIMARY KEY
);
CREATE TABLE experts (
	expertise_id text PRIMARY KEY,
	person_id text NOT NULL,
	topics text[] NOT NULL
);
CREATE INDEX experts_person ON experts (person_id);

-- sessions: what scheduling said of each session, for reminders and notices.
CREATE TABLE sessions (
	session_id text PRIMARY KEY,
	cop_id text NOT NULL,
	number int NOT NULL DEFAULT 0,
	starts_at timestamptz NOT NULL,
	ends_at timestamptz NOT NULL,
	timezone text NOT NULL DEFAULT 'UTC',
	topic text NOT NULL DEFAULT '',
	sequence int NOT NULL DEFAULT 0,
	cancelled boolean NOT NULL DEFAULT false,
	reminded_sequence int
);
CREATE INDEX sessions_due ON sessions (starts_at) WHERE NOT cancelled;

-- notices: each decision to tell a person something, once per (key, person, kind): an event
-- redelivered after a crash finds its notice and writes no second mail. mailed_at is set
-- when its mail is queued (at once, or in a digest); held notices wait for the digest.
CREATE TABLE notices (
	id bigserial PRIMARY KEY,
	key text NOT NULL,
	person_id text NOT NULL,
	kind text NOT NULL,
	subject text NOT NULL,
	body text NOT NULL,
	created_at timestamptz NOT NULL,
	cadence text NOT NULL,
	mailed_at timestamptz,
	UNIQUE (key, person_id, kind)
);
CREATE INDEX notices_held ON notices (person_id, cadence) WHERE mailed_at IS NULL;

-- news: what happened in a region this week, for the hub and national digests.
CREATE TABLE news (
	id bigserial PRIMARY KEY,
	key text NOT NULL UNIQUE,
	region text NOT NULL,
	kind text NOT NULL,
	text text NOT NULL,
	at timestamptz NOT NULL
);
CREATE INDEX news_at ON news (at);
