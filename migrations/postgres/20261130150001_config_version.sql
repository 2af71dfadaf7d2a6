-- Counts writes to integrations and subscriptions, shared by every replica: a replica reads
-- it before it uses its cached copy, so a subscription written through another replica
-- counts for the very next event.
ALTER TABLE instance ADD COLUMN config_version BIGINT NOT NULL DEFAULT 0;
