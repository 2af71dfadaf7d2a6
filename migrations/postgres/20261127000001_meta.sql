-- The schema's own bookkeeping. Later migrations add the product's tables.
-- PostgreSQL twin of migrations/sqlite/20261127000001_meta.sql: the same tables and columns,
-- so the same SQL text works on both engines (INTEGER -> BIGINT, BLOB -> BYTEA).
CREATE TABLE instance (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    -- the same text as SQLite's strftime('%Y-%m-%dT%H:%M:%fZ', 'now'): UTC, milliseconds
    created_at  TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
);
INSERT INTO instance (id) VALUES (1);
