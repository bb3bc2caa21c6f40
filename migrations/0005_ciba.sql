-- Authrim schema, version 5 (authrim:store@0.1.0 with `ciba-requests`):
-- OpenID Connect Client-Initiated Backchannel Authentication (CIBA Core
-- 1.0). Same conventions as 0001_init.sql.
--
-- One row per backchannel authentication request, keyed by the SHA-256
-- of its `auth_req_id`. The user is resolved from the hint when the
-- request is made, so the row names them from the start. `status` moves
-- pending -> approved | denied, and approved -> consumed exactly once
-- (the token endpoint's poll, one transaction). `interval` grows by 5 s
-- on every `slow_down` (CIBA Core section 11, as RFC 8628 section 3.5);
-- `last_poll_at` is the previous poll's time.
CREATE TABLE ciba_requests (
    auth_req_id_hash  TEXT    NOT NULL PRIMARY KEY,
    client_id         TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id           TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope             TEXT    NOT NULL,   -- as requested
    acr_values        TEXT,
    binding_message   TEXT,
    -- poll | ping | push, the client's registered mode at request time.
    delivery_mode     TEXT    NOT NULL CHECK (delivery_mode IN ('poll', 'ping', 'push')),
    -- The client's bearer token for our notification (ping and push); it
    -- must be sent back in clear, so it cannot be hashed.
    notification_token TEXT,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    interval          INTEGER NOT NULL CHECK (interval > 0),
    last_poll_at      INTEGER,
    status            TEXT    NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    -- Set by the approval: the session it came from, what was granted, and
    -- the authentication it rests on (auth_time, acr, amr as JSON).
    sid               TEXT,
    granted_scope     TEXT,
    grant_json        TEXT,
    decided_at        INTEGER
);
CREATE INDEX ciba_requests_by_client ON ciba_requests (client_id);
CREATE INDEX ciba_requests_by_user ON ciba_requests (user_id, status);
CREATE INDEX ciba_requests_by_expiry ON ciba_requests (expires_at);
