-- People are the only personal data in copnet. Erasure nulls name, e-mail and organisation
-- and keeps the id as a tombstone, so that ids in the audit trail stay meaningful.
CREATE TABLE people (
	id            text PRIMARY KEY,
	name          text,
	email         text,
	organisation  text,
	registered_at timestamptz NOT NULL,
	erased_at     timestamptz,
	CHECK ((erased_at IS NULL) = (name IS NOT NULL AND email IS NOT NULL))
);
-- One person per address whatever its case.
CREATE UNIQUE INDEX people_email_key ON people (lower(email)) WHERE email IS NOT NULL;

-- What membership knows of CoPs, from registry events only.
CREATE TABLE cops (
	id                       text PRIMARY KEY,
	region                   text NOT NULL,
	status                   text NOT NULL, -- proposed (a charter came first), approved, retired
	code_of_practice_version integer NOT NULL DEFAULT 0
);

CREATE TABLE memberships (
	cop_id                   text NOT NULL REFERENCES cops(id),
	person_id                text NOT NULL REFERENCES people(id),
	roles                    text[] NOT NULL DEFAULT '{}',
	code_of_practice_version integer NOT NULL,
	joined_at                timestamptz NOT NULL,
	coordinator_term_ends_at timestamptz,
	left_at                  timestamptz,
	left_reason              text,
	PRIMARY KEY (cop_id, person_id)
);
CREATE INDEX memberships_person ON memberships (person_id) WHERE left_at IS NULL;

CREATE TABLE appointments (
	id              text PRIMARY KEY,
	cop_id          text NOT NULL REFERENCES cops(id),
	person_id       text NOT NULL REFERENCES people(id),
	proposed_by     text NOT NULL,
	opened_at       timestamptz NOT NULL,
	consent_ends_at timestamptz NOT NULL,
	status          text NOT NULL,
	term_ends_at    timestamptz,
	settled_at      timestamptz
);
-- One consent window at a time per CoP.
CREATE UNIQUE INDEX appointments_one_open ON appointments (cop_id) WHERE status = 'open';
CREATE INDEX appointments_due ON appointments (consent_ends_at) WHERE status = 'open';

CREATE TABLE objections (
	appointment_id text NOT NULL REFERENCES appointments(id),
	person_id      text NOT NULL,
	reason         text NOT NULL,
	objected_at    timestamptz NOT NULL,
	PRIMARY KEY (appointment_id, person_id)
);

-- Removals and their votes are the audit trail of every step.
CREATE TABLE removals (
	id          text PRIMARY KEY,
	cop_id      text NOT NULL REFERENCES cops(id),
	person_id   text NOT NULL,
	proposed_by text NOT NULL,
	reason      text NOT NULL,
	electorate  text[] NOT NULL,
	status      text NOT NULL,
	opened_at   timestamptz NOT NULL,
	closed_at   timestamptz
);
CREATE UNIQUE INDEX removals_one_open ON removals (cop_id, person_id) WHERE status = 'open';

CREATE TABLE removal_votes (
	removal_id text NOT NULL REFERENCES removals(id),
	voter_id   text NOT NULL,
	support    boolean NOT NULL,
	cast_at    timestamptz NOT NULL,
	PRIMARY KEY (removal_id, voter_id)
);
