-- Authrim schema, version 1: everything wit/store.wit (authrim:store@0.1.0)
-- talks about. Applied once, in a transaction, before serving; op-store is
-- the only code that reads or writes these tables.
--
-- Conventions
--   * Times are UNIX seconds (INTEGER).
--   * Secrets (codes, tokens, session cookies) are stored only as their
--     SHA-256 hashes (lowercase hex), computed by the caller.
--   * Plain SQLite: no extensions, nothing libSQL/Turso would refuse.
--   * Foreign keys cascade where deleting a parent must remove its children.
--     op-store turns `PRAGMA foreign_keys` on for its connection and also
--     deletes children explicitly, so deletion is complete even on a
--     connection where foreign keys are not enforced.

-- Signing keys (the seed's KeyManager). `kid` is the RFC 7638 thumbprint.
-- `private_key` is the PKCS#8 DER private key sealed with AES-256-GCM under a
-- key derived from the `master_key` variable: nonce (12) || ciphertext || tag,
-- with `kid` and `alg` as associated data.
CREATE TABLE signing_keys (
    kid           TEXT    NOT NULL PRIMARY KEY,
    alg           TEXT    NOT NULL CHECK (alg IN ('RS256', 'ES256')),
    public_jwk    TEXT    NOT NULL,   -- JSON: kty, kid, use, alg and public members only
    private_key   BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    activates_at  INTEGER NOT NULL,   -- signs from this time on
    publish_until INTEGER,            -- NULL while it is the newest key of its alg
    -- Two keys of one alg never start signing at the same instant, so "the
    -- signing key" is always one row; also serves the signing-key lookup.
    UNIQUE (alg, activates_at)
);

CREATE TABLE clients (
    client_id               TEXT    NOT NULL PRIMARY KEY,
    secret_hash             TEXT,
    metadata_json           TEXT    NOT NULL,
    registration_token_hash TEXT,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);

-- `username_key` is the username lowercased by op-store (Unicode-aware); the
-- unique index on it makes usernames unique case-insensitively.
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE,
    password_hash TEXT,
    claims_json   TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Sessions, by the hash of the cookie value and by the public `sid`.
CREATE TABLE sessions (
    id_hash    TEXT    NOT NULL PRIMARY KEY,
    sid        TEXT    NOT NULL UNIQUE,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time  INTEGER NOT NULL,
    acr        TEXT,
    amr_json   TEXT    NOT NULL DEFAULT '[]',   -- JSON array of strings
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at   INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Refresh-token families and what they authorise. `refresh_hash` is the
-- family's current refresh token: rotation is a compare-and-set on it.
-- `sid` is deliberately not a foreign key: a grant whose session row is gone
-- counts as having an ended session.
CREATE TABLE grants (
    id                 TEXT    NOT NULL PRIMARY KEY,
    client_id          TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id            TEXT             REFERENCES users (id) ON DELETE CASCADE,
    sid                TEXT,
    scope              TEXT    NOT NULL,
    grant_json         TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    revoked_at         INTEGER,
    refresh_hash       TEXT    UNIQUE,
    refresh_expires_at INTEGER,
    CHECK ((refresh_hash IS NULL) = (refresh_expires_at IS NULL))
);
CREATE INDEX grants_by_client ON grants (client_id);
CREATE INDEX grants_by_user ON grants (user_id);

-- Refresh tokens that were current once and have been rotated away.
-- Presenting one of these again is reuse: the family is revoked.
CREATE TABLE superseded_refresh_tokens (
    token_hash    TEXT    NOT NULL PRIMARY KEY,
    grant_id      TEXT    NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    superseded_at INTEGER NOT NULL
);
CREATE INDEX superseded_refresh_tokens_by_grant ON superseded_refresh_tokens (grant_id);

CREATE TABLE access_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    grant_id   TEXT    NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX access_tokens_by_grant ON access_tokens (grant_id);

-- Authorization codes. `used_at` is set by the one redemption that wins;
-- `grant_id` names what that redemption issued, so a replay can revoke it.
CREATE TABLE auth_codes (
    code_hash             TEXT    NOT NULL PRIMARY KEY,
    client_id             TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id               TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid                   TEXT,
    redirect_uri          TEXT    NOT NULL,
    scope                 TEXT    NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    grant_json            TEXT    NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER,
    replayed_at           INTEGER,
    grant_id              TEXT             REFERENCES grants (id) ON DELETE SET NULL
);
CREATE INDEX auth_codes_by_client ON auth_codes (client_id);
CREATE INDEX auth_codes_by_user ON auth_codes (user_id);
CREATE INDEX auth_codes_by_grant ON auth_codes (grant_id);

-- One-time use markers (JWT `jti`s, DPoP proofs, ...): a row means "used
-- until expires_at".
CREATE TABLE one_time_marks (
    namespace  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX one_time_marks_by_expiry ON one_time_marks (expires_at);

-- Values to be taken once (PAR request objects, device codes, ...).
CREATE TABLE one_time_values (
    namespace  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX one_time_values_by_expiry ON one_time_values (expires_at);
