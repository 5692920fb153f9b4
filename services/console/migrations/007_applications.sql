-- Applications go back and forth: the hub asks for changes and the applicant resubmits, any
-- number of times, before the decision. Onboarding ranks now grow with the round
-- (proposal round r: 2r-1, changes asked in round r: 2r), and the decided and retired ranks
-- move far above any round so that the highest rank seen stays the current status. A
-- CoP waiting for changes is still shown as proposed: it is in onboarding, undecided.
UPDATE cops SET status_rank = 1048577 WHERE status_rank = 3;
UPDATE cops SET status_rank = 1048576 WHERE status_rank = 2;
-- The round whose name, scope and topics the row holds: a resubmission may rename the CoP,
-- and an older round's event consumed later must not undo it.
ALTER TABLE cops ADD COLUMN name_round integer NOT NULL DEFAULT 0;
UPDATE cops SET name_round = 1 WHERE name <> '';
