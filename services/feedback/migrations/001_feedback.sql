-- Approved CoPs and their region (registry's cop_approved): scopes hubs.
CREATE TABLE cops (
	id     text PRIMARY KEY,
	region text NOT NULL
);

-- Who belongs to which CoP (membership's member_joined / member_left): who may take a
-- members' ballot.
CREATE TABLE members (
	cop_id    text NOT NULL,
	person_id text NOT NULL,
	PRIMARY KEY (cop_id, person_id)
);
CREATE INDEX members_person ON members (person_id);

CREATE TABLE polls (
	id            text PRIMARY KEY,
	code          text NOT NULL UNIQUE,
	cop_id        text NOT NULL,
	session_id    text NOT NULL DEFAULT '',
	kind          text NOT NULL,
	purpose       text NOT NULL,
	audience      text NOT NULL,
	questions     jsonb NOT NULL,
	min_responses integer NOT NULL,
	secret        bytea NOT NULL,
	opened_at     timestamptz NOT NULL,
	closes_at     timestamptz,
	closed_at     timestamptz
);
CREATE INDEX polls_cop ON polls (cop_id, opened_at);
CREATE INDEX polls_due ON polls (closes_at) WHERE closed_at IS NULL AND closes_at IS NOT NULL;
-- One evaluation and one check-in per session, whatever the events' redelivery.
CREATE UNIQUE INDEX polls_session_purpose ON polls (session_id, purpose)
	WHERE session_id <> '' AND purpose IN ('evaluation', 'checkin');

-- The anonymity of members' polls rests on these three tables having nothing in common
-- but the poll:
-- ballots_issued says a member was given a ballot, and nothing else: no ballot, no hash,
-- no time, no sequence.
CREATE TABLE ballots_issued (
	poll_id   text NOT NULL REFERENCES polls (id),
	person_id text NOT NULL,
	PRIMARY KEY (poll_id, person_id)
);
-- ballots_cast holds the hash of each ballot once used, so it cannot be used twice.
CREATE TABLE ballots_cast (
	poll_id     text NOT NULL REFERENCES polls (id),
	ballot_hash bytea NOT NULL,
	PRIMARY KEY (poll_id, ballot_hash)
);
-- responses: the answer only, under a random id, without a time. Closing a poll rewrites
-- its responses in random order in the closing transaction, so not even their physical
-- order or transaction ids tell when each was cast.
CREATE TABLE responses (
	id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	poll_id text NOT NULL REFERENCES polls (id),
	answer  jsonb NOT NULL
);
CREATE INDEX responses_poll ON responses (poll_id);

-- Open polls: one answer per device token, remembered by a per-poll keyed hash.
CREATE TABLE devices_used (
	poll_id     text NOT NULL REFERENCES polls (id),
	device_hash bytea NOT NULL,
	PRIMARY KEY (poll_id, device_hash)
);

CREATE TABLE stage_assessments (
	id          text PRIMARY KEY,
	cop_id      text NOT NULL,
	stage       text NOT NULL,
	answers     jsonb NOT NULL,
	assessed_at timestamptz NOT NULL
);
CREATE INDEX stage_assessments_cop ON stage_assessments (cop_id, assessed_at);
