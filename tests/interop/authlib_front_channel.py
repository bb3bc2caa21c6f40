"""The hybrid and implicit flows checked by Authlib, code nobody here
wrote: for each front-channel response type, Authlib builds the
authorization URL, the "browser" signs in (the pages as in
authlib_flow.py), and Authlib validates the ID Token from the fragment
with HybridIDToken or ImplicitIDToken: signature against our JWKS, iss,
aud, exp, iat, nonce, and c_hash / at_hash over the code and access token
that came with it. A tampered code or token must fail the hash check.

Configuration comes from the environment (see tests/e2e/interop.rs).
"""

import os
import sys
from urllib.parse import parse_qs, urlparse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import HybridIDToken, ImplicitIDToken

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import authlib_flow as flow  # noqa: E402  (the shared browser and checks)

check = flow.check


def validate(cls, id_token, jwks, nonce, **params):
    claims = JsonWebToken(["RS256", "ES256"]).decode(
        id_token,
        jwks,
        claims_cls=cls,
        claims_options={"iss": {"essential": True, "value": flow.ISSUER}},
        claims_params={"nonce": nonce, "client_id": flow.CLIENT_ID, **params},
    )
    claims.validate()
    return claims


def main():
    meta = requests.get(flow.ISSUER + "/.well-known/openid-configuration").json()
    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"]).json())
    client = OAuth2Session(
        flow.CLIENT_ID,
        flow.CLIENT_SECRET,
        scope="openid email",
        redirect_uri=flow.REDIRECT_URI,
    )
    for response_type, cls in [
        ("code id_token", HybridIDToken),
        ("code id_token token", HybridIDToken),
        ("id_token token", ImplicitIDToken),
        ("id_token", ImplicitIDToken),
    ]:
        check(response_type in meta["response_types_supported"], f"{response_type} advertised")
        nonce = generate_token(20)
        url, state = client.create_authorization_url(
            meta["authorization_endpoint"], response_type=response_type, nonce=nonce
        )
        location = flow.browser_authorize(url)
        parsed = urlparse(location)
        check(parsed.query == "", f"{response_type}: nothing in the query")
        params = {k: v[0] for k, v in parse_qs(parsed.fragment).items()}
        check(params.get("state") == state, f"{response_type}: state in the fragment")
        check(params.get("iss") == flow.ISSUER, f"{response_type}: iss in the fragment")
        extra = {k: params[k] for k in ("code", "access_token") if k in params}
        words = response_type.split()
        expected = [k for k, w in (("code", "code"), ("access_token", "token")) if w in words]
        check(sorted(extra) == sorted(expected), f"{response_type}: exactly what was asked for")
        claims = validate(cls, params["id_token"], jwks, nonce, **extra)
        check(True, f"{response_type}: Authlib {cls.__name__} validated the ID Token")
        if "code" in extra:
            check("c_hash" in claims, f"{response_type}: c_hash present")
        if "access_token" in extra:
            check("at_hash" in claims, f"{response_type}: at_hash present")
            info = requests.get(
                meta["userinfo_endpoint"],
                headers={"authorization": "Bearer " + extra["access_token"]},
            )
            check(info.status_code == 200 and info.json()["sub"] == claims["sub"],
                  f"{response_type}: the access token works at userinfo")
        for name in extra:
            tampered = dict(extra, **{name: extra[name][:-2] + "xx"})
            hash_claim = "c_hash" if name == "code" else "at_hash"
            try:
                validate(cls, params["id_token"], jwks, nonce, **tampered)
                check(False, f"{response_type}: a tampered {name} is refused")
            except Exception as e:  # Authlib raises its (or joserfc's) InvalidClaimError
                check(type(e).__name__ == "InvalidClaimError" and hash_claim in str(e),
                      f"{response_type}: a tampered {name} fails {hash_claim} ({e})")
    print(f"{flow.checks} passed, 0 failed")


if __name__ == "__main__":
    main()
