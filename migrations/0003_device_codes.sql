-- Authrim schema, version 3 (authrim:store@0.1.0 with `device-grants`):
-- the Device Authorization Grant (RFC 8628), the seed's DeviceCodeStore.
-- Same conventions as 0001_init.sql.
--
-- One row per device authorization request, keyed by the SHA-256 of its
-- `device_code`. `user_code` is stored normalised (8 letters, no dash),
-- unique among rows; op-store removes an expired row that holds a user
-- code before reusing it. `status` moves pending -> approved | denied,
-- and approved -> consumed exactly once (the token endpoint's poll, one
-- transaction). `interval` grows by 5 s on every `slow_down`
-- (RFC 8628 section 3.5); `last_poll_at` is the previous poll's time.
CREATE TABLE device_codes (
    device_code_hash TEXT    NOT NULL PRIMARY KEY,
    user_code        TEXT    NOT NULL UNIQUE,
    client_id        TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope            TEXT    NOT NULL,   -- as requested
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    interval         INTEGER NOT NULL CHECK (interval > 0),
    last_poll_at     INTEGER,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    -- Set by the approval: who, in which session, what they granted, and
    -- the authentication it rests on (auth_time, acr, amr as JSON).
    user_id          TEXT             REFERENCES users (id) ON DELETE CASCADE,
    sid              TEXT,
    granted_scope    TEXT,
    grant_json       TEXT,
    decided_at       INTEGER
);
CREATE INDEX device_codes_by_client ON device_codes (client_id);
CREATE INDEX device_codes_by_user ON device_codes (user_id);
CREATE INDEX device_codes_by_expiry ON device_codes (expires_at);
