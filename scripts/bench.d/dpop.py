"""Cost of DPoP (RFC 9449) per request: the same request with and without
a proof, sequential on one connection, server CPU-ms from the runner's
/proc utime+stime (the client's CPU, including signing the proofs with
Authlib, is not counted). Every proof is fresh: a replay would be refused.

- client_credentials: plain vs. with an ES256 / RS256 proof (proof check,
  jti write, bound token recorded with its jkt).
- userinfo with a client_credentials token (answered 403 after the token
  and, with DPoP, the proof are checked; the claims step is the same for
  both): Bearer vs. DPoP scheme with an ES256 / RS256 proof.

usage: dpop.py ISSUER PID CLIENT_ID CLIENT_SECRET SECONDS
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

ISSUER, PID, CLIENT_ID, SECRET, SECONDS = sys.argv[1:6]
SECONDS = float(SECONDS)
HZ = os.sysconf("SC_CLK_TCK")
TOKEN, USERINFO = f"{ISSUER}/token", f"{ISSUER}/userinfo"
# `htu` names the endpoints by the configured issuer, which need not be
# the address the benchmark connects to.
_META = requests.get(f"{ISSUER}/.well-known/openid-configuration").json()
HTU = {TOKEN: _META["token_endpoint"], USERINFO: _META["userinfo_endpoint"]}
JWS = JsonWebSignature()
KEYS = {
    "ES256": JsonWebKey.generate_key("EC", "P-256", is_private=True),
    "RS256": JsonWebKey.generate_key("RSA", 2048, is_private=True),
}
S = requests.Session()


def cpu_ticks():
    with open(f"/proc/{PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proof(alg, method, url, at=None):
    key = KEYS[alg]
    claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": HTU[url], "iat": int(time.time())}
    if at:
        claims["ath"] = base64.urlsafe_b64encode(hashlib.sha256(at.encode()).digest()).rstrip(b"=").decode()
    jwk = key.as_dict(is_private=False)
    jwk.pop("kid", None)
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": jwk}
    return JWS.serialize_compact(header, json.dumps(claims).encode(), key).decode()


def cc(alg=None):
    headers = {"DPoP": proof(alg, "POST", TOKEN)} if alg else {}
    r = S.post(TOKEN, data={"grant_type": "client_credentials", "scope": "api"},
               auth=(CLIENT_ID, SECRET), headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def userinfo(at, alg=None):
    if alg:
        headers = {"Authorization": f"DPoP {at}", "DPoP": proof(alg, "GET", USERINFO, at)}
    else:
        headers = {"Authorization": f"Bearer {at}"}
    r = S.get(USERINFO, headers=headers)
    assert r.status_code == 403, r.text  # token and proof accepted; no End-User


def measure(name, op):
    op()
    n, t0, c0 = 0, time.monotonic(), cpu_ticks()
    while time.monotonic() - t0 < SECONDS:
        op()
        n += 1
    cpu = (cpu_ticks() - c0) * 1000 / HZ / n
    return cpu, n


rows = []
base, n = measure("cc", cc)
rows.append(("client_credentials, Bearer", base, n, None))
for alg in ("ES256", "RS256"):
    cpu, n = measure(alg, lambda: cc(alg))
    rows.append((f"client_credentials, DPoP proof {alg}", cpu, n, cpu - base))
plain_at = cc()
bound = {alg: cc(alg) for alg in KEYS}
base, n = measure("ui", lambda: userinfo(plain_at))
rows.append(("userinfo (403 path), Bearer", base, n, None))
for alg in ("ES256", "RS256"):
    cpu, n = measure(alg, lambda: userinfo(bound[alg], alg))
    rows.append((f"userinfo (403 path), DPoP proof {alg}", cpu, n, cpu - base))
for name, cpu, n, added in rows:
    extra = "—" if added is None else f"{added:+.3f}"
    print(f"| {name} | {cpu:.3f} | {extra} | {n} sequential |")
