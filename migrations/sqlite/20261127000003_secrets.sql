-- Secrets: names and scopes in clear, every value sealed with AES-256-GCM (see server/src/crypto).
CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    scope       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE secret_values (
    secret_name  TEXT NOT NULL REFERENCES secrets(name) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    -- version | key id | nonce | ciphertext+tag; the AAD binds it to (secret_name, key)
    sealed       BLOB NOT NULL,
    PRIMARY KEY (secret_name, key)
);
