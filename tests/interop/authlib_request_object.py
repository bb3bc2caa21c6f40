"""Authlib (code nobody here wrote) signs a request object (RFC 9101):
the authorization request's parameters as JWT claims, RS256 with the
client's private key. Prints the compact JWT for tests/e2e/jar.rs.

Environment: PRIVATE_KEY_PEM, KID, ISSUER (the audience), CLIENT_ID,
REDIRECT_URI, STATE, NONCE, CODE_CHALLENGE.
"""

import os
import time
import uuid

from authlib.jose import JsonWebKey, jwt

env = os.environ
key = JsonWebKey.import_key(env["PRIVATE_KEY_PEM"], {"kty": "RSA"})
now = int(time.time())
claims = {
    "iss": env["CLIENT_ID"],
    "aud": env["ISSUER"],
    "client_id": env["CLIENT_ID"],
    "iat": now,
    "nbf": now,
    "exp": now + 300,
    "jti": str(uuid.uuid4()),
    "response_type": "code",
    "redirect_uri": env["REDIRECT_URI"],
    "scope": "openid email",
    "state": env["STATE"],
    "nonce": env["NONCE"],
    "code_challenge": env["CODE_CHALLENGE"],
    "code_challenge_method": "S256",
    "max_age": 3600,
    "claims": {"id_token": {"email": {"essential": True}}},
}
token = jwt.encode({"alg": "RS256", "kid": env["KID"], "typ": "oauth-authz-req+jwt"}, claims, key)
print(token.decode("ascii"))
