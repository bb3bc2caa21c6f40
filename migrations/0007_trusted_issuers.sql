-- Trusted issuers of JWT bearer assertions (RFC 7523 section 2.1).
-- Exactly one of jwks_json and jwks_uri is set; the lists are JSON arrays
-- of strings; subject_mapping is 'user' or 'service'.
CREATE TABLE trusted_issuers (
    issuer TEXT PRIMARY KEY,
    jwks_json TEXT,
    jwks_uri TEXT,
    allowed_subjects_json TEXT NOT NULL,
    allowed_scopes_json TEXT NOT NULL,
    subject_mapping TEXT NOT NULL CHECK (subject_mapping IN ('user', 'service')),
    created_at INTEGER NOT NULL,
    CHECK ((jwks_json IS NULL) <> (jwks_uri IS NULL))
);
