-- PostgreSQL twin of migrations/sqlite/20261201000001_event_deliveries.sql.
-- The Events page lists each event's deliveries and counts them per row, and the Overview
-- reads the deliveries of the last 24 h through the events received then: both look
-- deliveries up by event. Without this index each lookup read the whole deliveries table
-- (and so did the foreign-key check when retention deletes an event).
CREATE INDEX deliveries_event ON deliveries(event_id);
