-- A CoP's coordinator may let people register themselves online (the WA CoP's "online
-- registration"): then a signed-in person joins by accepting the Code of Practice, without
-- an invitation. Membership's own setting, not the registry's: it decides who may join.
ALTER TABLE cops ADD COLUMN open_registration boolean NOT NULL DEFAULT false;
