-- OpenID Connect sign-in. Erasure deletes a person's linked provider accounts by person,
-- and each new sign-in sweeps flows long expired: both look rows up by these columns.
CREATE INDEX oidc_identities_person ON oidc_identities (person_id);
CREATE INDEX oidc_flows_expiry ON oidc_flows (expires_at);
