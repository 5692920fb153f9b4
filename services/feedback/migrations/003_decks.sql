-- Session decks (issue 17): several open polls shown one at a time under one room code.
-- The polls are ordinary open polls; a deck adds only their order and which one the
-- room sees now.
CREATE TABLE decks (
	id         text PRIMARY KEY,
	code       text NOT NULL UNIQUE,
	cop_id     text NOT NULL,
	title      text NOT NULL,
	current    integer NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL,
	closed_at  timestamptz
);
CREATE INDEX decks_cop ON decks (cop_id, created_at);

CREATE TABLE deck_polls (
	deck_id  text NOT NULL REFERENCES decks (id),
	position integer NOT NULL,
	poll_id  text NOT NULL UNIQUE REFERENCES polls (id),
	PRIMARY KEY (deck_id, position)
);

-- Live presentation: whatever may change what a presenter or a room sees (an answer
-- committed, a poll closed, a deck moved or closed) wakes the service's long-polls, in
-- every replica, when its transaction commits. The payload is empty: a waiter recomputes
-- what it shows and answers only if that changed, so the notice says nothing but "look".
CREATE FUNCTION notify_live() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('feedback_live', '');
	RETURN NULL;
END
$$;
CREATE TRIGGER sealed_responses_live AFTER INSERT ON sealed_responses FOR EACH STATEMENT EXECUTE FUNCTION notify_live();
CREATE TRIGGER polls_live AFTER UPDATE ON polls FOR EACH STATEMENT EXECUTE FUNCTION notify_live();
CREATE TRIGGER decks_live AFTER UPDATE ON decks FOR EACH STATEMENT EXECUTE FUNCTION notify_live();
