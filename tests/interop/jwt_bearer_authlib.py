"""JWT bearer grant (RFC 7523 §2.1) assertions made by Authlib's JOSE (code
nobody here wrote) against a running Authrim.

`keys DIR`: Authlib generates an ES256 and an RS256 key; writes the public
JWK Set (for `authrim admin issuer add --jwks`) to DIR/public.json and the
private keys to DIR/private.json.

`run DIR`: signs assertions with those keys, posts them to the token
endpoint of $ISSUER with client $CLIENT_ID/$CLIENT_SECRET, and checks the
token responses, introspection, and that a replay and a tampered assertion
are refused. Exits non-zero on any mismatch.

Environment for `run`: ISSUER, ASSERTION_ISSUER, SUBJECT, CLIENT_ID,
CLIENT_SECRET, AUDIENCE (the OP's issuer identifier as configured).
"""
import json
import os
import sys
import time
import uuid
import warnings

warnings.simplefilter("ignore")
from authlib.jose import JsonWebKey, JsonWebToken, KeySet  # noqa: E402

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)
    print("ok:", what)


def keys(directory):
    ec = JsonWebKey.generate_key("EC", "P-256", is_private=True, options={"kid": "authlib-ec"})
    rsa = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "authlib-rsa"})
    public = {"keys": [k.as_dict(is_private=False) for k in (ec, rsa)]}
    private = {"keys": [k.as_dict(is_private=True) for k in (ec, rsa)]}
    with open(os.path.join(directory, "public.json"), "w") as f:
        json.dump(public, f)
    with open(os.path.join(directory, "private.json"), "w") as f:
        json.dump(private, f)
    print("keys written")


def run(directory):
    import requests

    issuer = os.environ["ISSUER"]
    auth = (os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"])
    with open(os.path.join(directory, "private.json")) as f:
        key_set = KeySet([JsonWebKey.import_key(k) for k in json.load(f)["keys"]])
    meta = requests.get(f"{issuer}/.well-known/openid-configuration").json()
    check(GRANT in meta["grant_types_supported"], "discovery lists the grant")
    token_url = meta["token_endpoint"]

    def assertion(key, alg):
        now = int(time.time())
        claims = {
            "iss": os.environ["ASSERTION_ISSUER"],
            "sub": os.environ["SUBJECT"],
            "aud": os.environ["AUDIENCE"],
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
        }
        header = {"alg": alg, "kid": key.kid}
        return JsonWebToken([alg]).encode(header, claims, key).decode()

    for kid, alg in [("authlib-ec", "ES256"), ("authlib-rsa", "RS256")]:
        key = key_set.find_by_kid(kid)
        jwt = assertion(key, alg)
        r = requests.post(token_url, data={"grant_type": GRANT, "assertion": jwt, "scope": "api"}, auth=auth)
        check(r.status_code == 200, f"{alg}: token {r.status_code} {r.text}")
        body = r.json()
        check(body["token_type"] == "Bearer" and body["scope"] == "api", f"{alg}: response {body}")
        check("refresh_token" not in body, f"{alg}: no refresh token")
        r = requests.post(f"{issuer}/introspect", data={"token": body["access_token"]}, auth=auth)
        intro = r.json()
        check(intro.get("active") is True and intro.get("sub") == os.environ["SUBJECT"], f"{alg}: introspection {intro}")
        r = requests.post(token_url, data={"grant_type": GRANT, "assertion": jwt}, auth=auth)
        check(r.status_code == 400 and r.json()["error"] == "invalid_grant", f"{alg}: replay refused")
        head, payload, sig = assertion(key, alg).split(".")
        tampered = ".".join([head, payload, sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")])
        r = requests.post(token_url, data={"grant_type": GRANT, "assertion": tampered}, auth=auth)
        check(r.status_code == 400 and r.json()["error"] == "invalid_grant", f"{alg}: tampered refused")
    print("jwt bearer interop passed")


if __name__ == "__main__":
    {"keys": keys, "run": run}[sys.argv[1]](sys.argv[2])
