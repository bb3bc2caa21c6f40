#!/usr/bin/env python3
"""Decrypts Authrim's JWE ID Tokens and UserInfo responses with jwcrypto
(code nobody here wrote), then verifies the inner signatures against the
OP's published JWK Set.

    jwe_decrypt.py keys OUT_DIR       writes private.json, prints the public JWK Set
    jwe_decrypt.py check CASES.json   decrypts and verifies every case
    jwe_decrypt.py front CASES.json   the same for /authorize's responses

A case: {"client_id", "alg", "enc", "id_token", "userinfo", "userinfo_signed",
"nonce"}. A front case: {"client_id", "nonce", "id_token" or "response"
(an encrypted JARM response, "alg"/"enc"), "id_alg"/"id_enc" (of the ID
Token, in the fragment or inside the JARM response)}. Prints "N passed, M
failed"; exits non-zero on any failure.
"""
import json
import os
import sys
import urllib.request

from jwcrypto import jwe, jwk, jws, jwt

ISSUER = os.environ.get("ISSUER", "")
JWKS_URL = os.environ.get("JWKS_URL", ISSUER + "/.well-known/jwks.json")


def make_keys(out_dir):
    rsa = jwk.JWK.generate(kty="RSA", size=2048, kid="rp-rsa-enc", use="enc")
    ec = jwk.JWK.generate(kty="EC", crv="P-256", kid="rp-ec-enc", use="enc")
    # A signing key first in the set: the OP must skip it (use sig).
    sig = jwk.JWK.generate(kty="EC", crv="P-256", kid="rp-ec-sig", use="sig")
    private = jwk.JWKSet()
    for k in (rsa, ec):
        private.add(k)
    with open(os.path.join(out_dir, "private.json"), "w") as f:
        f.write(private.export(private_keys=True))
    public = {"keys": [json.loads(k.export_public()) for k in (sig, rsa, ec)]}
    print(json.dumps(public))


def decrypt(token, keys, alg, enc, expect_cty):
    obj = jwe.JWE()
    obj.allowed_algs = [alg, enc]
    obj.deserialize(token, key=keys)
    header = obj.jose_header
    assert header["alg"] == alg, header
    assert header["enc"] == enc, header
    assert header.get("kid") in ("rp-rsa-enc", "rp-ec-enc"), header
    assert header.get("cty") == expect_cty, header
    return obj.payload


def verify_signed(token, op_keys, aud):
    signed = jws.JWS()
    signed.deserialize(token)
    kid = signed.jose_header["kid"]
    key = op_keys.get_key(kid)
    assert key is not None, f"OP key {kid} not published"
    signed.verify(key)
    claims = json.loads(signed.payload)
    assert claims["iss"] == ISSUER, claims
    aud_claim = claims["aud"]
    assert aud_claim == aud or (isinstance(aud_claim, list) and aud in aud_claim), claims
    return signed.jose_header, claims


def check(cases_path):
    with open(cases_path) as f:
        cases = json.load(f)
    with open(os.path.join(os.path.dirname(cases_path), "private.json")) as f:
        keys = jwk.JWKSet.from_json(f.read())
    with urllib.request.urlopen(JWKS_URL) as r:
        op_keys = jwk.JWKSet.from_json(r.read())
    passed = failed = 0
    for case in cases:
        name = f'{case["client_id"]} {case["alg"]} {case["enc"]}'
        try:
            inner = decrypt(case["id_token"], keys, case["alg"], case["enc"], "JWT")
            header, claims = verify_signed(inner.decode(), op_keys, case["client_id"])
            assert header.get("typ") == "JWT", header
            assert claims["nonce"] == case["nonce"], claims
            assert claims["sub"], claims
            # jwcrypto's JWT layer takes the nested token as a whole too.
            nested = jwt.JWT(jwt=case["id_token"], key=keys, expected_type="JWE",
                             algs=[case["alg"], case["enc"]])
            assert nested.token.jose_header["cty"] == "JWT"
            if case["userinfo_signed"]:
                inner = decrypt(case["userinfo"], keys, case["alg"], case["enc"], "JWT")
                _, info = verify_signed(inner.decode(), op_keys, case["client_id"])
            else:
                info = json.loads(decrypt(case["userinfo"], keys, case["alg"], case["enc"], None))
                assert "iss" not in info, info
            assert info["sub"] == claims["sub"], info
            assert info["email"] == "alice@example.test", info
            passed += 1
        except Exception as e:  # report every case, then fail
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def check_id_token(token, keys, op_keys, case):
    inner = decrypt(token, keys, case["id_alg"], case["id_enc"], "JWT")
    header, claims = verify_signed(inner.decode(), op_keys, case["client_id"])
    assert header.get("typ") == "JWT", header
    assert claims["nonce"] == case["nonce"], claims
    assert claims["sub"], claims
    return claims


def check_front(cases_path):
    """Front-channel ID Tokens (OIDC Core 3.3.2.11) and encrypted JARM
    responses (JARM 2.2): decrypted with the client's keys, the inner JWTs
    verified against the OP's keys; an ID Token inside a JARM response is
    itself encrypted and checked too."""
    import time

    with open(cases_path) as f:
        cases = json.load(f)
    with open(os.path.join(os.path.dirname(cases_path), "private.json")) as f:
        keys = jwk.JWKSet.from_json(f.read())
    with urllib.request.urlopen(JWKS_URL) as r:
        op_keys = jwk.JWKSet.from_json(r.read())
    passed = failed = 0
    for case in cases:
        name = f'{case["client_id"]} {case.get("alg")} {case.get("enc")} {case.get("id_alg")} {case.get("id_enc")}'
        try:
            if "response" in case:
                inner = decrypt(case["response"], keys, case["alg"], case["enc"], "JWT")
                _, claims = verify_signed(inner.decode(), op_keys, case["client_id"])
                assert claims["exp"] > time.time(), claims
                assert claims["state"] == case["state"], claims
                if "id_alg" in case:
                    assert "code" in claims, claims
                    check_id_token(claims["id_token"], keys, op_keys, case)
                else:
                    assert claims["error"] == case["error"], claims
            else:
                check_id_token(case["id_token"], keys, op_keys, case)
            passed += 1
        except Exception as e:  # report every case, then fail
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    if sys.argv[1] == "keys":
        make_keys(sys.argv[2])
    elif sys.argv[1] == "front":
        check_front(sys.argv[2])
    else:
        check(sys.argv[2])
