-- Identity and access. Secrets people hold (sign-in links, session cookies, invitation links,
-- personal API tokens) are stored only as SHA-256 hashes: a database reader cannot use them.

-- Grants given as data (national staff, hub officers, coordinators and working groups given
-- by invitation). Membership of a CoP and its roles are grants too, derived from
-- memberships: they are not repeated here.
CREATE TABLE grants (
	person_id text NOT NULL REFERENCES people(id),
	role      text NOT NULL CHECK (role IN ('national', 'hub', 'coordinator', 'working_group', 'member')),
	region    text NOT NULL DEFAULT '',
	cop_id    text NOT NULL DEFAULT '',
	given_by  text NOT NULL,
	given_at  timestamptz NOT NULL,
	PRIMARY KEY (person_id, role, region, cop_id)
);
CREATE INDEX grants_national ON grants (role) WHERE role = 'national';

-- Single-use sign-in links sent by e-mail (15 minutes).
CREATE TABLE signin_links (
	hash       bytea PRIMARY KEY,
	email      text NOT NULL,
	next       text NOT NULL DEFAULT '/',
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz
);
CREATE INDEX signin_links_expiry ON signin_links (expires_at);

-- Single-use setup links (copnet's first start, `copnet link`) redeemed: the link itself is
-- a MAC'd ticket, so only its id is kept, to refuse a second use.
CREATE TABLE setup_links_used (
	id         text PRIMARY KEY,
	expires_at timestamptz NOT NULL
);

-- Browser sessions: the cookie holds a random secret, this table its hash.
CREATE TABLE sessions (
	hash         bytea PRIMARY KEY,
	person_id    text NOT NULL REFERENCES people(id),
	method       text NOT NULL, -- email, oidc, passkey, setup, invitation
	created_at   timestamptz NOT NULL,
	last_seen_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL, -- absolute expiry
	ended_at     timestamptz
);
CREATE INDEX sessions_person ON sessions (person_id) WHERE ended_at IS NULL;

-- Sign-in identities at OpenID providers: one subject per issuer.
CREATE TABLE oidc_identities (
	issuer    text NOT NULL,
	subject   text NOT NULL,
	person_id text NOT NULL REFERENCES people(id),
	linked_at timestamptz NOT NULL,
	PRIMARY KEY (issuer, subject)
);

-- A sign-in at an OpenID provider in flight: state, nonce and PKCE verifier (10 minutes).
CREATE TABLE oidc_flows (
	state      text PRIMARY KEY,
	nonce      text NOT NULL,
	verifier   text NOT NULL,
	next       text NOT NULL,
	expires_at timestamptz NOT NULL
);

-- Passkeys (WebAuthn credentials) a person registered.
CREATE TABLE passkeys (
	credential_id bytea PRIMARY KEY,
	person_id     text NOT NULL REFERENCES people(id),
	credential    jsonb NOT NULL,
	created_at    timestamptz NOT NULL,
	last_used_at  timestamptz
);
CREATE INDEX passkeys_person ON passkeys (person_id);

-- A WebAuthn ceremony in flight (5 minutes).
CREATE TABLE webauthn_ceremonies (
	id         text PRIMARY KEY,
	person_id  text, -- registration: who; sign-in: unknown until the assertion
	data       jsonb NOT NULL,
	expires_at timestamptz NOT NULL
);

-- Invitations: a grant offered to an e-mail address.
CREATE TABLE invitations (
	id          text PRIMARY KEY,
	hash        bytea NOT NULL UNIQUE,
	email       text NOT NULL,
	role        text NOT NULL,
	region      text NOT NULL DEFAULT '',
	cop_id      text NOT NULL DEFAULT '',
	invited_by  text NOT NULL,
	created_at  timestamptz NOT NULL,
	expires_at  timestamptz NOT NULL,
	accepted_by text,
	accepted_at timestamptz,
	declined_at timestamptz
);
CREATE INDEX invitations_email ON invitations (lower(email)) WHERE accepted_at IS NULL AND declined_at IS NULL;

-- Personal API tokens: the token is a signed access token whose id is the row's id; its hash
-- is kept to show it was issued, never the token.
CREATE TABLE api_tokens (
	id         text PRIMARY KEY,
	person_id  text NOT NULL REFERENCES people(id),
	name       text NOT NULL,
	grants     jsonb NOT NULL,
	hash       bytea NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz
);
CREATE INDEX api_tokens_person ON api_tokens (person_id);
