-- People whose contact details (name, address, or their erasure) changed since membership
-- last shared them with notify on the node-private channel (internal/adapters/contacts.go).
-- Only the id is queued: the details are read from people when shared, so an erasure
-- before the share sends the erasure, not the address.
CREATE TABLE contact_shares (
	person_id text PRIMARY KEY,
	changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION queue_contact_share() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO contact_shares (person_id) VALUES (NEW.id)
	ON CONFLICT (person_id) DO UPDATE SET changed_at = clock_timestamp();
	RETURN NEW;
END $$;

CREATE TRIGGER people_contact_share AFTER INSERT OR UPDATE OF name, email, erased_at ON people
	FOR EACH ROW EXECUTE FUNCTION queue_contact_share();

-- Everyone registered before the channel existed is shared once.
INSERT INTO contact_shares (person_id) SELECT id FROM people;
