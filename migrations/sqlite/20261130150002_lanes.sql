-- The Slack lane, shared by replicas (PostgreSQL; a single SQLite process keeps it in memory,
-- the tables exist on both engines so their schemas stay alike).
-- lane_holders: which replica sends a lane's deliveries (one per Slack-host subscription), so
-- they leave in event order; held under a lease the holder renews, taken over when it runs out.
CREATE TABLE lane_holders (
    lane         TEXT PRIMARY KEY,       -- the subscription id
    holder       TEXT NOT NULL,          -- the replica's id (random per process)
    lease_until  INTEGER NOT NULL          -- unix ms
);
-- lane_pacing: GCRA state per webhook URL (keyed by its SHA-256: the URL may hold a secret):
-- the theoretical arrival time; a request may leave at tat - burst * interval.
CREATE TABLE lane_pacing (
    url_hash  TEXT PRIMARY KEY,
    tat       INTEGER NOT NULL             -- unix ms
);
