-- Reading requests and expertise (issue 18). An expert's card is what they declared to be
-- shown with their expertise, to the people whose requests reach them: the name and
-- organisation they go by (their own membership record, as the console fills it in) and a
-- short description. It goes with the expertise row when the person is erased.
ALTER TABLE expertise
	ADD COLUMN name text NOT NULL DEFAULT '',
	ADD COLUMN organisation text NOT NULL DEFAULT '',
	ADD COLUMN description text NOT NULL DEFAULT '';

-- "My requests" and "routed to me", newest first, paged by (created_at, id).
CREATE INDEX requests_asker ON requests (person_id, created_at DESC, id DESC);
CREATE INDEX answers_request ON answers (request_id, created_at, id);
