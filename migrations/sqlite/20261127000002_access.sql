-- Access control: API tokens (hashed), UI users (argon2id) and server-side sessions (hashed ids).
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    token_hash    BLOB NOT NULL UNIQUE,   -- SHA-256 of the token; the token itself is never stored
    created_at    TEXT NOT NULL,          -- RFC 3339, UTC
    last_used_at  TEXT
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,         -- argon2id PHC string
    created_at     TEXT NOT NULL
);

CREATE TABLE sessions (
    id_hash       BLOB PRIMARY KEY,       -- SHA-256 of the cookie value
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    last_seen_at  INTEGER NOT NULL        -- unix seconds, for idle expiry
);
CREATE INDEX sessions_user ON sessions(user_id);
