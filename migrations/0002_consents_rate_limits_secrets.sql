-- Authrim schema, version 2 (authrim:store@0.1.0 with `clients.set-secret`,
-- `clients.verify-secret-mac`, `one-time.peek`, `consents`, `rate-limits`).
-- Same conventions as 0001_init.sql.

-- The client secret sealed under the master key, kept only for clients
-- registered for client_secret_jwt (HMAC assertions need the secret itself;
-- every other method compares `secret_hash`). AES-256-GCM as for signing
-- keys: nonce (12) || ciphertext || tag, with the client id as associated
-- data. NULL for every other client.
ALTER TABLE clients ADD COLUMN secret_sealed BLOB;

-- Consent a user gave a client: one row per (user, client), replaced when
-- consent is given again.
CREATE TABLE consents (
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope       TEXT    NOT NULL,
    claims_json TEXT    NOT NULL DEFAULT '[]',   -- JSON array of claim names
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) WITHOUT ROWID;
CREATE INDEX consents_by_client ON consents (client_id);

-- Fixed-window rate-limit counters: `count` events in the window starting
-- at `window_start` (a multiple of the window length). Counting is one
-- upsert; a bucket's row is reused for every later window.
CREATE TABLE rate_limits (
    bucket       TEXT    NOT NULL PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL CHECK (count >= 1)
) WITHOUT ROWID;
