"""Benchmarks of multi-request operations that wrk cannot replay: refresh
with rotation (each response carries the next token) and whole login flows
(authorize -> login -> consent -> code -> token -> userinfo). Sequential, one
connection per flow; reports operations/s and the runner's server CPU-ms per
operation from /proc (the client's own CPU is not counted).

usage: flows.py ISSUER PID CLIENT_ID CLIENT_SECRET USERNAME PASSWORD SECONDS [token]
(`token`: log in once and print a user access token)
"""

import os
import re
import sys
import time
from urllib.parse import urljoin, urlparse, parse_qs, urlencode

import requests

ISSUER, PID, CLIENT_ID, SECRET, USER, PASSWORD, SECONDS = sys.argv[1:8]
SECONDS = float(SECONDS)
HZ = os.sysconf("SC_CLK_TCK")
REDIRECT = "https://rp.example.test/callback"


def cpu_ticks():
    with open(f"/proc/{PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def measure(name, op):
    op()  # warm-up
    n, t0, c0 = 0, time.monotonic(), cpu_ticks()
    while time.monotonic() - t0 < SECONDS:
        op()
        n += 1
    elapsed, cpu = time.monotonic() - t0, cpu_ticks() - c0
    print(f"| {name} | {n / elapsed:,.1f} | {cpu * 1000 / HZ / n:.3f} | {n} sequential |")


def hidden(html, name):
    return re.search(r'name="%s" value="([^"]*)"' % name, html).group(1)


def authorize(scope, prompt):
    """Browser part: authorize -> login -> consent; returns the code."""
    s = requests.Session()
    q = urlencode({"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT,
                   "scope": scope, "state": "s", "prompt": prompt})
    r = s.get(f"{ISSUER}/authorize?{q}", allow_redirects=False)
    while True:
        loc = r.headers.get("location")
        if loc and loc.startswith(REDIRECT):
            return parse_qs(urlparse(loc).query)["code"][0]
        if loc:
            r = s.get(urljoin(r.url, loc), allow_redirects=False)
            continue
        html = r.text
        form = {"interaction": hidden(html, "interaction"), "csrf": hidden(html, "csrf")}
        if 'id="sign-in"' in html:
            form.update(username=USER, password=PASSWORD)
            r = s.post(urljoin(r.url, "login"), data=form, allow_redirects=False)
        else:
            form.update(decision="approve")
            r = s.post(urljoin(r.url, "consent"), data=form, allow_redirects=False)


def redeem(code):
    return requests.post(f"{ISSUER}/token", auth=(CLIENT_ID, SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}).json()


def login_flow():
    tok = redeem(authorize("openid profile email", "login"))
    assert requests.get(f"{ISSUER}/userinfo", headers={
        "authorization": "Bearer " + tok["access_token"]}).status_code == 200
    return tok


state = {}


def refresh():
    if "rt" not in state:
        state["rt"] = redeem(authorize("openid offline_access", "consent"))["refresh_token"]
    r = requests.post(f"{ISSUER}/token", auth=(CLIENT_ID, SECRET), data={
        "grant_type": "refresh_token", "refresh_token": state["rt"]})
    state["rt"] = r.json()["refresh_token"]


if __name__ == "__main__":
    if len(sys.argv) > 8 and sys.argv[8] == "token":
        print(login_flow()["access_token"])
        sys.exit(0)
    measure("refresh with rotation (no ID Token)", refresh)
    measure("whole login flow incl. argon2id (8 requests)", login_flow)
