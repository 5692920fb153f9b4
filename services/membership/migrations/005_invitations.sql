-- Invitations (002 created the table). The mailed link signs the invitee in once: a second
-- use must not sign anyone in for the rest of the invitation's 14 days, so its use is kept.
-- An expired invitation that a new one replaces is marked lapsed, which lets one open
-- invitation per address and grant be enforced by an index rather than by luck.
ALTER TABLE invitations
	ADD COLUMN link_used_at timestamptz,
	ADD COLUMN lapsed_at    timestamptz,
	-- The name (and organisation) the inviter gave, used if the invitee registers on
	-- arrival; erased with the invitation.
	ADD COLUMN name         text NOT NULL DEFAULT '',
	ADD COLUMN organisation text NOT NULL DEFAULT '';

CREATE UNIQUE INDEX invitations_one_open ON invitations (lower(email), role, region, cop_id)
	WHERE accepted_at IS NULL AND declined_at IS NULL AND lapsed_at IS NULL;
CREATE INDEX invitations_sent ON invitations (invited_by, created_at DESC);
