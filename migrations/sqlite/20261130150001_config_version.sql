-- Counts writes to integrations and subscriptions. On SQLite the one process keeps the count
-- in memory; the column exists so both engines have the same schema.
ALTER TABLE instance ADD COLUMN config_version INTEGER NOT NULL DEFAULT 0;
