-- Members' answers ahead of a session: coming, or apologies. Each member answers for
-- themselves; a later answer replaces the earlier one. The attendance sheet starts from
-- these. Erasure deletes a person's rows (an answer ahead is not a record of the past).
CREATE TABLE rsvps (
	session_id text NOT NULL REFERENCES sessions(id),
	person_id  text NOT NULL,
	answer     text NOT NULL CHECK (answer IN ('coming', 'apologies')),
	answered_at timestamptz NOT NULL,
	PRIMARY KEY (session_id, person_id)
);
CREATE INDEX rsvps_person ON rsvps (person_id);
