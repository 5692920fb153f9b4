-- Webhooks (internal/webhooks): endpoints national and hub administrators register, and the
-- deliveries of events to them. Only the owner's person id is kept, never an address: the
-- failure mail is addressed from contacts, which erasure scrubs.

CREATE TABLE webhook_endpoints (
	id text PRIMARY KEY,
	owner_id text NOT NULL,
	-- region is the hub's scope: only that region's events; '' is national (every event).
	region text NOT NULL DEFAULT '',
	url text NOT NULL,
	-- secret is the Standard Webhooks signing secret, whsec_<base64>.
	secret text NOT NULL,
	event_types text[] NOT NULL,
	created_at timestamptz NOT NULL,
	-- failures counts failed attempts since the last success; MaxFailures disables.
	failures int NOT NULL DEFAULT 0,
	disabled_at timestamptz,
	disabled_reason text NOT NULL DEFAULT ''
);
CREATE INDEX webhook_endpoints_active ON webhook_endpoints (region) WHERE disabled_at IS NULL;

-- cop_regions: which region each CoP is in, from events that name both, so that an event
-- naming only a CoP reaches the hub of its region.
CREATE TABLE webhook_cop_regions (
	cop_id text PRIMARY KEY,
	region text NOT NULL
);

-- deliveries: one per event and endpoint (the unique key keeps a redelivered event from
-- being sent twice). body is the CloudEvent as sent, so every attempt signs the same bytes.
CREATE TABLE webhook_deliveries (
	id bigserial PRIMARY KEY,
	endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
	event_id text NOT NULL,
	event_type text NOT NULL,
	body bytea NOT NULL,
	created_at timestamptz NOT NULL,
	attempts int NOT NULL DEFAULT 0,
	next_attempt_at timestamptz,
	last_status int,
	last_error text NOT NULL DEFAULT '',
	delivered_at timestamptz,
	UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL;

-- attempts: when each attempt was made and what came back, for people to see (and for the
-- tests to prove the back-off grows).
CREATE TABLE webhook_attempts (
	delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
	attempt int NOT NULL,
	at timestamptz NOT NULL,
	status int,
	error text NOT NULL DEFAULT '',
	PRIMARY KEY (delivery_id, attempt)
);
