-- Received events and the deliveries they cause (a transactional outbox: both are written
-- in one transaction), with every attempt recorded (secrets masked).
CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    source          TEXT NOT NULL,
    shkeptncontext  TEXT NOT NULL,
    triggeredid     TEXT,
    time            TEXT NOT NULL,
    project         TEXT,
    stage           TEXT,
    service         TEXT,
    body            TEXT NOT NULL,          -- the event as stored (JSON), generated fields filled in
    received_at     TEXT NOT NULL
);
CREATE INDEX events_context ON events(shkeptncontext);
CREATE INDEX events_type ON events(type);

CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,      -- also the webhook-id header value
    subscription_id  TEXT NOT NULL,         -- no foreign key: history outlives the subscription
    integration_id   TEXT NOT NULL,
    event_id         TEXT NOT NULL REFERENCES events(id),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'failed')),
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    reason           TEXT,
    duration_ms      INTEGER,
    next_attempt_at  INTEGER,               -- unix ms; NULL once delivered or failed
    lease_until      INTEGER,               -- unix ms; a sender holds the delivery until then
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX deliveries_subscription ON deliveries(subscription_id);

CREATE TABLE delivery_attempts (
    delivery_id  TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    duration_ms  INTEGER NOT NULL,
    request      TEXT NOT NULL,             -- JSON {method, url, headers, body}, secrets as ***
    response     TEXT,                      -- JSON {status, headers, body} or NULL
    error        TEXT,
    PRIMARY KEY (delivery_id, number)
);
