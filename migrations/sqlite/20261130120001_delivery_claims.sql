-- Fenced claims: every claim of a delivery stores a fresh token; only the holder of the
-- current token may renew the lease or record the attempt, so a sender whose lease ran out
-- can neither record nor send again. `unrecorded` counts the claims since the last recorded
-- attempt, so a delivery whose attempt record keeps failing is settled instead of being sent
-- again at every lease.
ALTER TABLE deliveries ADD COLUMN claim_token TEXT;
ALTER TABLE deliveries ADD COLUMN unrecorded INTEGER NOT NULL DEFAULT 0;
