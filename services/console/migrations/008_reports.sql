-- Figures of the network reports (the funders' and secretariats' evidence): requests for
-- information raised and answered, kept from knowledge's events. Rows are keyed by the
-- request's and the answer's ids, so that replays and any order of the two events give the
-- same rows: an answer consumed before its request waits for the request's region.
CREATE TABLE requests (
	id        text PRIMARY KEY,
	cop_id    text NOT NULL DEFAULT '',
	region    text NOT NULL DEFAULT '',
	raised_at timestamptz
);
CREATE INDEX requests_region ON requests (region) WHERE raised_at IS NOT NULL;

CREATE TABLE request_answers (
	answer_id   text PRIMARY KEY,
	request_id  text NOT NULL,
	answered_at timestamptz NOT NULL
);
CREATE INDEX request_answers_request ON request_answers (request_id);

-- Overlaps by status per region, for "overlaps coordinated".
CREATE INDEX cop_overlaps_status ON cop_overlaps (status) WHERE detected_at IS NOT NULL;

-- The CoP's time zone, as scheduling gave it with each session: reports and exports show a
-- session's day as the CoP lived it, not in UTC.
ALTER TABLE sessions ADD COLUMN timezone text NOT NULL DEFAULT '';

-- Gaps filled: knowledge announces a gap closing (gap_filled) as it announces one opening.
-- A gap is open while its latest identification is later than its latest filling; each
-- filling is kept once, for "gaps filled". A filling consumed before the gap's
-- identification keeps its row with identified_at -infinity, never shown as open.
ALTER TABLE gaps ADD COLUMN filled_at timestamptz;
CREATE TABLE gap_fills (
	region    text NOT NULL,
	topic     text NOT NULL,
	filled_at timestamptz NOT NULL,
	PRIMARY KEY (region, topic, filled_at)
);
