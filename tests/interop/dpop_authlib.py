"""DPoP proofs made by Authlib's JOSE (code nobody here wrote) against a
running Authrim: ES256 and RS256 keys generated and thumbprinted (RFC 7638)
by Authlib, client_credentials with a proof, the bound token at UserInfo
and introspection, and the Bearer refusal. Exits non-zero on any mismatch.

Environment: ISSUER, CLIENT_ID, CLIENT_SECRET.
"""
import base64
import hashlib
import json
import os
import sys
import time
import uuid
import warnings

import requests

warnings.simplefilter("ignore")
from authlib.jose import JsonWebKey, JsonWebSignature  # noqa: E402

ISSUER = os.environ["ISSUER"]
AUTH = (os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"])


def proof(key, alg, method, url, access_token=None):
    claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
    if access_token:
        digest = hashlib.sha256(access_token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(is_private=False)}
    header["jwk"].pop("kid", None)
    return JsonWebSignature().serialize_compact(header, json.dumps(claims).encode(), key).decode()


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)
    print("ok:", what)


meta = requests.get(f"{ISSUER}/.well-known/openid-configuration").json()
check(meta["dpop_signing_alg_values_supported"] == ["ES256", "RS256"], "discovery algs")
token_url, userinfo_url = meta["token_endpoint"], meta["userinfo_endpoint"]

for kty, crv_or_size, alg in [("EC", "P-256", "ES256"), ("RSA", 2048, "RS256")]:
    key = JsonWebKey.generate_key(kty, crv_or_size, is_private=True)
    r = requests.post(
        token_url,
        data={"grant_type": "client_credentials"},
        auth=AUTH,
        headers={"DPoP": proof(key, alg, "POST", token_url)},
    )
    check(r.status_code == 200, f"{alg}: token {r.status_code} {r.text}")
    body = r.json()
    check(body["token_type"] == "DPoP", f"{alg}: token_type DPoP")
    at = body["access_token"]
    payload = json.loads(base64.urlsafe_b64decode(at.split(".")[1] + "=="))
    check(payload["cnf"]["jkt"] == key.thumbprint(), f"{alg}: cnf.jkt is Authlib's thumbprint")

    # The proof passes at UserInfo; the token has no End-User, hence 403.
    r = requests.get(
        userinfo_url,
        headers={"Authorization": f"DPoP {at}", "DPoP": proof(key, alg, "GET", userinfo_url, at)},
    )
    check(r.status_code == 403, f"{alg}: userinfo with proof passes DPoP ({r.status_code} {r.text})")
    r = requests.get(userinfo_url, headers={"Authorization": f"Bearer {at}"})
    check(r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("DPoP "), f"{alg}: Bearer refused")

    r = requests.post(f"{ISSUER}/introspect", data={"token": at}, auth=AUTH)
    intro = r.json()
    check(intro.get("cnf", {}).get("jkt") == key.thumbprint(), f"{alg}: introspection cnf")
print("dpop interop passed")
