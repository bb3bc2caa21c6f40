-- DPoP (RFC 9449): the RFC 7638 thumbprint of the key an access token is
-- bound to (`cnf.jkt`); NULL for bearer tokens. Refresh tokens and codes
-- carry their binding in `grant_json` / the code's `grant_json`
-- (`dpop_jkt`), written once with the row.
ALTER TABLE access_tokens ADD COLUMN jkt TEXT;
