-- Passkeys: every ceremony begun adds a row (sign-in ceremonies anonymously), and expired
-- ones are deleted whenever one is added; the index keeps that cheap however many there are.
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
