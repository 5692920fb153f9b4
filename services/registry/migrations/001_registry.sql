CREATE TABLE regions (
	id         text PRIMARY KEY,
	name       text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cops (
	id                 text PRIMARY KEY,
	region             text NOT NULL REFERENCES regions(id),
	name               text NOT NULL,
	scope              text NOT NULL,
	purpose            text NOT NULL,
	topics             text[] NOT NULL DEFAULT '{}',
	host_organisations text[] NOT NULL DEFAULT '{}',
	meeting            jsonb NOT NULL,
	status             text NOT NULL,
	stage              text NOT NULL,
	decision_reason    text NOT NULL DEFAULT '',
	retired_reason     text NOT NULL DEFAULT '',
	charter_version    integer NOT NULL DEFAULT 0,
	created_at         timestamptz NOT NULL DEFAULT now(),
	updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cops_region_status ON cops (region, status, id);
CREATE INDEX cops_topics ON cops USING gin (topics);

CREATE TABLE charters (
	cop_id             text NOT NULL REFERENCES cops(id),
	version            integer NOT NULL,
	aims               text NOT NULL,
	terms_of_reference text NOT NULL,
	code_of_practice   text NOT NULL,
	published_at       timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cop_id, version)
);
