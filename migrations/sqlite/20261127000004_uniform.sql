-- Integrations (Keptn's uniform registrations) and their subscriptions.
CREATE TABLE integrations (
    id          TEXT PRIMARY KEY,          -- sha1 hex of <name>-<namespace>-<hostname>
    name        TEXT NOT NULL,
    metadata    TEXT NOT NULL,             -- JSON, Keptn's MetaData shape
    builtin     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE subscriptions (
    id              TEXT PRIMARY KEY,      -- UUID v4
    integration_id  TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    filter          TEXT NOT NULL,         -- JSON {projects, stages, services}
    webhook         TEXT,                  -- JSON, strings exactly as written; NULL for non-webhook integrations
    created_at      TEXT NOT NULL
);
CREATE INDEX subscriptions_integration ON subscriptions(integration_id, created_at);
