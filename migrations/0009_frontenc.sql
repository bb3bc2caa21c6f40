-- Hybrid flows (OIDC Core 3.3): the grant of the access token /authorize
-- returned together with a code (`code token`, `code id_token token`). A
-- replay of that code at the token endpoint revokes it with the code's own
-- grant, in `codes.redeem`'s transaction (RFC 6749 4.1.2).
CREATE TABLE code_front_grants (
    code_hash TEXT NOT NULL PRIMARY KEY REFERENCES auth_codes (code_hash) ON DELETE CASCADE,
    grant_id  TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX code_front_grants_by_grant ON code_front_grants (grant_id);
