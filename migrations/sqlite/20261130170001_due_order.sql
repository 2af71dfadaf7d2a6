-- The sender's claim takes the earliest due deliveries in (next_attempt_at, rowid) order.
-- With only (status, next_attempt_at) the engine gathered every waiting delivery of both
-- statuses and sorted them for each claim: with 100,000 waiting, each claim read all of them.
-- deliveries_due_order holds only waiting deliveries that nobody holds, in claim order, so a
-- claim reads the first rows and stops (deliveries in flight are not in it to be stepped
-- over); settled and leased deliveries leave it.
-- (SQLite orders equal keys of an index by rowid: the index is in claim order as it stands.)
CREATE INDEX deliveries_due_order ON deliveries(next_attempt_at)
    WHERE status IN ('pending', 'retrying') AND lease_until IS NULL;
-- Leased waiting deliveries by when their lease runs out: a claim takes over those whose
-- holder is gone (lease run out) from the front of this one.
CREATE INDEX deliveries_leased ON deliveries(lease_until)
    WHERE status IN ('pending', 'retrying') AND lease_until IS NOT NULL;
