-- When the error events of an integration were last viewed (for the unread badge).
CREATE TABLE error_event_reads (
    integration_id  TEXT PRIMARY KEY,
    seen_until      TEXT NOT NULL        -- RFC 3339; failures updated after this are unread
);
