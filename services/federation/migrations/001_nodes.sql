CREATE TABLE nodes (
	id            text PRIMARY KEY,
	tier          text NOT NULL,
	parent        text NOT NULL,
	leaf_password text NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT now()
);
