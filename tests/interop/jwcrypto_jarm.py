"""jwcrypto (code nobody here wrote) verifies a JARM response JWT: the
signature against the OP's JWKS, and the iss, aud and exp claims JARM
section 2.1 requires. A tampered JWT must be refused.

Environment: JWKS_JSON, RESPONSE_JWT, ISSUER, CLIENT_ID (tests/e2e/jarm.rs).
"""

import json
import os
import sys
import time

from jwcrypto import jwk, jwt

checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    checks += 1
    print(f"ok - {what}")


keys = jwk.JWKSet.from_json(os.environ["JWKS_JSON"])
token = os.environ["RESPONSE_JWT"]
verified = jwt.JWT(
    jwt=token,
    key=keys,
    check_claims={"iss": os.environ["ISSUER"], "aud": os.environ["CLIENT_ID"], "exp": None},
)
claims = json.loads(verified.claims)
check(True, "signature verified against the JWKS, iss/aud/exp checked")
check(claims["exp"] > time.time(), "not expired")
check("code" in claims or "error" in claims, "carries the authorization response")

header, payload, signature = token.split(".")
forged = ".".join([header, payload, signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")])
try:
    jwt.JWT(jwt=forged, key=keys)
    check(False, "a tampered signature is refused")
except Exception as e:  # jwcrypto raises its own JWS errors
    check(True, f"a tampered signature is refused ({type(e).__name__})")
print(f"{checks} passed, 0 failed")
