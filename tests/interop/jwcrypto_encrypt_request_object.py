"""jwcrypto (code nobody here wrote) encrypts signed request objects to
the OP (RFC 9101 6.1, OIDC Core 6.1: signed, then encrypted): it picks
the OP's encryption key from the published JWKS ("use": "enc") and
writes one compact JWE per line, nested ("cty": "JWT").

Environment: JWKS_JSON (the OP's /.well-known/jwks.json), JOBS: lines of
"<alg> <enc> <signed JWT>" (tests/e2e/jar.rs).
"""

import json
import os

from jwcrypto import jwe, jwk

keys = json.loads(os.environ["JWKS_JSON"])["keys"]
enc_keys = [k for k in keys if k.get("use") == "enc"]
assert len(enc_keys) == 1, keys
key = jwk.JWK(**enc_keys[0])

for line in os.environ["JOBS"].strip().splitlines():
    alg, enc, signed = line.split(" ")
    header = {"alg": alg, "enc": enc, "kid": key.key_id, "cty": "JWT"}
    token = jwe.JWE(signed.encode(), protected=json.dumps(header))
    token.add_recipient(key)
    print(token.serialize(compact=True))
