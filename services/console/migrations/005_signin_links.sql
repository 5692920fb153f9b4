-- Sign-in links signed in once: redeeming one inserts its id here, and the primary key is what
-- refuses a second use, whether it comes later, after a restart, or at the same moment from
-- another browser. Rows are dropped some days after their link expired (an expired link is
-- refused by its expiry alone).
CREATE TABLE signin_links_used (
    id         text PRIMARY KEY,
    used_at    timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX signin_links_used_expires ON signin_links_used (expires_at);
