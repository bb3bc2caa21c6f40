"""The authorization code flow driven by Authlib, an OAuth/OIDC client
library nobody here wrote: discovery -> code + PKCE -> token -> ID Token
validation (Authlib's CodeIDToken: iss, aud, exp, iat, nonce, at_hash) ->
userinfo -> refresh (rotation, reuse refused) -> revocation.

The "browser" part (login and consent pages) is plain HTTP with a cookie
jar. Configuration comes from the environment (see tests/e2e/interop.rs).
"""

import os
import re
import sys
from urllib.parse import urljoin, urlparse, parse_qs

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken

ISSUER = os.environ["ISSUER"]
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
REDIRECT_URI = os.environ["REDIRECT_URI"]
USERNAME = os.environ["USERNAME"]
PASSWORD = os.environ["PASSWORD"]

checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    checks += 1
    print(f"ok - {what}")


def hidden(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    check(m is not None, f"page has a hidden {name} field")
    return m.group(1)


def browser_authorize(url):
    """Follows the OP's pages like a user would; returns the redirect to the
    client's redirect_uri."""
    browser = requests.Session()
    r = browser.get(url, allow_redirects=False)
    for _ in range(10):
        location = r.headers.get("location")
        if location and location.startswith(REDIRECT_URI):
            return location
        if location:
            r = browser.get(urljoin(r.url, location), allow_redirects=False)
            continue
        check(r.status_code == 200, f"page {r.url} answers 200 (got {r.status_code})")
        html = r.text
        if 'id="sign-in"' in html:
            form = {
                "interaction": hidden(html, "interaction"),
                "csrf": hidden(html, "csrf"),
                "username": USERNAME,
                "password": PASSWORD,
            }
            r = browser.post(urljoin(r.url, "login"), data=form, allow_redirects=False)
        elif 'id="approve"' in html:
            form = {
                "interaction": hidden(html, "interaction"),
                "csrf": hidden(html, "csrf"),
                "decision": "approve",
            }
            r = browser.post(urljoin(r.url, "consent"), data=form, allow_redirects=False)
        else:
            check(False, f"a login or consent page at {r.url}: {html[:300]}")
    check(False, "reached the redirect URI within 10 steps")


def main():
    meta = requests.get(ISSUER + "/.well-known/openid-configuration").json()
    check(meta["issuer"] == ISSUER, "discovery issuer matches")
    check("S256" in meta["code_challenge_methods_supported"], "S256 advertised")

    client = OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="openid profile email offline_access",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    nonce = generate_token(20)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, prompt="consent"
    )
    location = browser_authorize(url)
    params = parse_qs(urlparse(location).query)
    check(params.get("state") == [state], "state returned")
    check(params.get("iss") == [ISSUER], "RFC 9207 iss returned")

    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    for field in ("access_token", "id_token", "refresh_token", "expires_in"):
        check(field in token, f"token response has {field}")
    check(token["token_type"].lower() == "bearer", "token_type Bearer")

    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"]).json())
    id_token = JsonWebToken(["RS256", "ES256"]).decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": ISSUER}},
        claims_params={
            "nonce": nonce,
            "client_id": CLIENT_ID,
            "access_token": token["access_token"],
        },
    )
    id_token.validate()
    check(True, "ID Token validated by Authlib (signature, iss, aud, exp, iat, nonce, at_hash)")

    info = client.get(meta["userinfo_endpoint"]).json()
    check(info["sub"] == id_token["sub"], "userinfo sub matches the ID Token")
    check(info.get("email") == "alice@example.com", "email claim by scope")

    old_refresh = token["refresh_token"]
    new = client.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    check(new["refresh_token"] != old_refresh, "refresh rotates the refresh token")
    check(client.get(meta["userinfo_endpoint"]).status_code == 200, "new access token works")

    # Reusing the rotated token is refused and revokes the family (RFC 9700).
    reuse = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    check(reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant", "reuse refused")
    family = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    check(family.status_code == 400, "reuse revoked the whole family")

    # A second login for revocation.
    verifier = generate_token(64)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=generate_token(20), prompt="consent"
    )
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=browser_authorize(url), code_verifier=verifier
    )
    r = client.revoke_token(
        meta["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token"
    )
    check(r.status_code == 200, "revocation answers 200")
    after = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    check(after.status_code == 400, "a revoked refresh token is refused")
    denied = requests.get(
        meta["userinfo_endpoint"], headers={"authorization": "Bearer " + token["access_token"]}
    )
    check(denied.status_code == 401, "access tokens of a revoked family are refused")
    print(f"{checks} passed, 0 failed")


if __name__ == "__main__":
    main()
