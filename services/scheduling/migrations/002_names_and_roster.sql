-- CoP names from cop_proposed, for calendar and event titles. Kept apart from cops: a
-- proposal and its approval reach separate consumers in either order, and only an approved
-- CoP is served.
CREATE TABLE cop_names (
	cop_id text PRIMARY KEY,
	name   text NOT NULL
);

-- Every membership change, so that the roster of any past moment can be counted: the
-- attendance rate divides by the members on the roster when the session took place, not
-- by whoever is a member when someone looks. at is the event's time; the latest change at
-- or before a moment says whether the person was on the roster then, whatever order the
-- events arrived in. Erasure replaces person_id by a stand-in per CoP.
CREATE TABLE roster_changes (
	cop_id    text NOT NULL,
	person_id text NOT NULL,
	at        timestamptz NOT NULL,
	current   boolean NOT NULL,
	PRIMARY KEY (cop_id, person_id, at, current)
);
INSERT INTO roster_changes (cop_id, person_id, at, current) SELECT cop_id, person_id, as_of, current FROM members;
