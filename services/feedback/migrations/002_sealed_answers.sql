-- Anonymity against a database administrator (issue 13; see ANONYMITY.md). Every key is
-- derived from the node's secret, which the database never sees.

-- Issuance without the person: HMAC(issue key, poll ‖ person). Rows written before this
-- migration are moved over by the service at its next start (it holds the key), then
-- deleted from ballots_issued_v1.
ALTER TABLE ballots_issued RENAME TO ballots_issued_v1;
ALTER TABLE ballots_issued_v1 RENAME CONSTRAINT ballots_issued_pkey TO ballots_issued_v1_pkey;
CREATE TABLE ballots_issued (
	poll_id    text NOT NULL REFERENCES polls (id),
	issue_hash bytea NOT NULL,
	PRIMARY KEY (poll_id, issue_hash)
);

-- Answers accepted while a poll is open, sealed (AES-256-GCM, padded to 2 KiB buckets) in
-- the transaction that spends their ballot or device: no plaintext answer exists in any
-- tuple or WAL record before the poll closes. Closing opens them all in one transaction,
-- writes them to responses in a random order and deletes these rows. seq is the arrival
-- order that live results of open polls step through (xmin tells it anyway).
CREATE TABLE sealed_responses (
	poll_id text NOT NULL REFERENCES polls (id),
	seq     bigint GENERATED ALWAYS AS IDENTITY,
	sealed  bytea NOT NULL,
	PRIMARY KEY (poll_id, seq)
);
-- Ciphertext does not compress: do not try.
ALTER TABLE sealed_responses ALTER COLUMN sealed SET STORAGE EXTERNAL;

-- The per-poll secret let whoever reads the database mint ballots; keys now come from
-- the node's secret. Ballots issued and not yet cast before this migration no longer
-- check (their issuance stays recorded, so nobody answers twice).
ALTER TABLE polls DROP COLUMN secret;

-- Membership is projected order-independently: a row stays when the member leaves
-- (current = false), and as_of is the time of the event that set it, so a join, leave and
-- re-join applied in any order end in the state of the latest.
ALTER TABLE members ADD COLUMN current boolean NOT NULL DEFAULT true,
	ADD COLUMN as_of timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE members ALTER COLUMN current DROP DEFAULT, ALTER COLUMN as_of DROP DEFAULT;

-- People erased from the network, as hashes of their ids: a member_joined or member_left
-- delivered after person_erased must not bring the id back.
CREATE TABLE erased (
	person_hash bytea PRIMARY KEY
);
