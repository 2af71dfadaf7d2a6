-- Retention pruning looks finished deliveries up by when they last changed, and events by
-- when they arrived.
-- PostgreSQL twin of migrations/sqlite/20261127000007_retention.sql.
CREATE INDEX deliveries_updated ON deliveries(updated_at);
CREATE INDEX events_received ON events(received_at);
