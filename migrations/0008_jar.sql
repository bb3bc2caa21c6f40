-- The OP's key for encrypted request objects (RFC 9101 6.1, OIDC Core
-- 10.2): one P-256 key for ECDH-ES (direct, +A128KW, +A256KW), published
-- in the JWKS with "use": "enc". The private key is sealed like the
-- signing keys' and never leaves op-store: it only computes key agreements.
CREATE TABLE encryption_keys (
    kid         TEXT    NOT NULL PRIMARY KEY,
    alg         TEXT    NOT NULL UNIQUE CHECK (alg IN ('ECDH-ES')),
    public_jwk  TEXT    NOT NULL,   -- JSON: kty, kid, use, crv, x, y
    private_key BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
