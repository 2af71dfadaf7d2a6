-- The sender's claim takes the earliest due deliveries in (next_attempt_at, rowid) order.
-- With only (status, next_attempt_at) the engine gathered every waiting delivery of both
-- statuses and sorted them for each claim: with 100,000 waiting, each claim read all of them.
-- This partial index holds only waiting deliveries, in claim order, so a claim reads the
-- first rows and stops; settled deliveries leave it.
-- (SQLite orders equal keys of an index by rowid: the index is in claim order as it stands.)
CREATE INDEX deliveries_due_order ON deliveries(next_attempt_at)
    WHERE status IN ('pending', 'retrying');
