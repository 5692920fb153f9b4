-- Applications: a group (any signed-in person) applies to become a CoP; the hub may ask for
-- changes, and the applicant edits and resubmits. The contact is personal data: it lives
-- here only, never in an event, and is scrubbed when its applicant is erased.
ALTER TABLE cops
	ADD COLUMN applicant_id      text NOT NULL DEFAULT '',
	ADD COLUMN contact           jsonb NOT NULL DEFAULT '{}',
	ADD COLUMN round             integer NOT NULL DEFAULT 1,
	ADD COLUMN changes_requested text NOT NULL DEFAULT '';
CREATE INDEX cops_applicant ON cops (applicant_id, id) WHERE applicant_id <> '';
