-- Retention pruning looks finished deliveries up by when they last changed, and events by
-- when they arrived.
CREATE INDEX deliveries_updated ON deliveries(updated_at);
CREATE INDEX events_received ON events(received_at);
