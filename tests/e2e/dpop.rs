//! DPoP (RFC 9449) through the runner: a bound token from /token to
//! /userinfo and introspection, bound refresh tokens and codes, the
//! negative tables of the token endpoint and of UserInfo, the nonce dance,
//! and a proof replayed in parallel. Proofs are signed with `jsonwebtoken`
//! (code nobody here wrote); thumbprints are computed here from RFC 7638.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::harness::{App, DataDir, Response, ISSUER};
use crate::token::{
    add_client, add_user, basic, code_for, error_of, form, now, Browser, EC_KEY_PEM, EC_X, EC_Y,
    FORM, REDIRECT, RSA_KEY_PEM, RSA_N, SECRET, VERIFIER,
};

/// A client's DPoP key.
pub struct Key {
    alg: Algorithm,
    encoding: EncodingKey,
    /// The public JWK.
    pub jwk: Value,
}

impl Key {
    pub fn ec() -> Key {
        Key {
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_pem(EC_KEY_PEM.as_bytes()).unwrap(),
            jwk: json!({"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y}),
        }
    }

    pub fn rsa() -> Key {
        Key {
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_pem(RSA_KEY_PEM.as_bytes()).unwrap(),
            jwk: json!({"kty": "RSA", "n": RSA_N, "e": "AQAB"}),
        }
    }

    /// RFC 7638 §3.2: the required members in lexicographic order.
    pub fn thumbprint(&self) -> String {
        let j = &self.jwk;
        let input = match j["kty"].as_str().unwrap() {
            "EC" => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                j["x"].as_str().unwrap(),
                j["y"].as_str().unwrap()
            ),
            _ => format!(
                r#"{{"e":"AQAB","kty":"RSA","n":"{}"}}"#,
                j["n"].as_str().unwrap()
            ),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes()))
    }

    /// A proof with `header` and `claims` as given (nulls remove members).
    pub fn sign(&self, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, self.alg).unwrap();
        format!("{input}.{sig}")
    }

    pub fn header(&self) -> Value {
        let alg = match self.alg {
            Algorithm::ES256 => "ES256",
            _ => "RS256",
        };
        json!({"typ": "dpop+jwt", "alg": alg, "jwk": self.jwk})
    }

    /// A fresh, valid proof for `method` `path` (and `token`'s `ath`).
    pub fn proof(&self, method: &str, path: &str, token: Option<&str>) -> String {
        self.proof_with(method, path, token, json!({}))
    }

    pub fn proof_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        patch: Value,
    ) -> String {
        let mut claims = json!({
            "jti": fresh_jti(), "htm": method, "htu": format!("{ISSUER}{path}"), "iat": now(),
        });
        if let Some(t) = token {
            claims["ath"] = json!(ath(t));
        }
        merge(&mut claims, &patch);
        self.sign(self.header(), claims)
    }
}

fn merge(target: &mut Value, patch: &Value) {
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            target.as_object_mut().unwrap().remove(k);
        } else {
            target[k] = v.clone();
        }
    }
}

pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn fresh_jti() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("jti-{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// POST /token with an optional DPoP proof.
pub fn token_dpop(app: &App, auth: Option<&str>, proof: Option<&str>, body: &str) -> Response {
    let mut headers = vec![FORM];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    if let Some(p) = proof {
        headers.push(("dpop", p));
    }
    let r = app.request("POST", "/token", &headers, body.as_bytes());
    assert!(r.status < 500, "{} {}", r.status, r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r
}

pub fn userinfo(app: &App, authorization: &str, proof: Option<&str>) -> Response {
    let mut headers = vec![("authorization", authorization)];
    if let Some(p) = proof {
        headers.push(("dpop", p));
    }
    let r = app.request("GET", "/userinfo", &headers, b"");
    assert!(r.status < 500, "{} {}", r.status, r.text());
    r
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

const CC: &str = "grant_type=client_credentials";

fn cc_app() -> (DataDir, App) {
    let data = DataDir::new();
    let app = App::start(&data);
    let cc = json!({"grant_types": ["client_credentials"], "scope": "api"});
    add_client(&data, "cc", Some(SECRET), &cc);
    let mut bound = cc.clone();
    bound["dpop_bound_access_tokens"] = json!(true);
    add_client(&data, "cc-bound", Some(SECRET), &bound);
    (data, app)
}

/// The app with a public code-flow client and a confidential one.
fn code_app() -> (DataDir, App) {
    let data = DataDir::new();
    let app = App::start(&data);
    let rp = |method: &str| {
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": method,
               "grant_types": ["authorization_code", "refresh_token"], "client_name": "Test RP"})
    };
    add_client(&data, "spa", None, &rp("none"));
    add_client(&data, "rp", Some(SECRET), &rp("client_secret_basic"));
    add_user(&data);
    (data, app)
}

fn redeem_spa(app: &App, code: &str, proof: Option<&str>) -> Response {
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", "spa"),
    ]);
    token_dpop(app, None, proof, &body)
}

fn refresh_spa(app: &App, refresh_token: &str, proof: Option<&str>) -> Response {
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", "spa"),
    ]);
    token_dpop(app, None, proof, &body)
}

#[test]
fn dpop_bound_token_from_token_to_userinfo_and_introspection() {
    let (_data, app) = code_app();
    let key = Key::ec();
    let mut browser = Browser::default();
    let code = code_for(&app, &mut browser, "spa", "openid profile offline_access");
    let r = redeem_spa(&app, &code, Some(&key.proof("POST", "/token", None)));
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["token_type"], "DPoP");
    let at = body["access_token"].as_str().unwrap();
    let rt = body["refresh_token"].as_str().unwrap();
    assert_eq!(claims_of(at)["cnf"]["jkt"], key.thumbprint());

    // UserInfo with the DPoP scheme and a proof naming the token.
    let auth = format!("DPoP {at}");
    let r = userinfo(&app, &auth, Some(&key.proof("GET", "/userinfo", Some(at))));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "Alice Doe");

    // The same token as a bearer token is refused, with a DPoP challenge.
    let r = userinfo(&app, &format!("Bearer {at}"), None);
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "invalid_token");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .starts_with("DPoP algs=\"ES256 RS256\""));

    // Introspection reports the binding (RFC 9449 §6.2).
    let r = app.request(
        "POST",
        "/introspect",
        &[FORM, ("authorization", &basic("rp", SECRET))],
        form(&[("token", at)]).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let intro = r.json();
    assert_eq!(intro["active"], true, "{intro}");
    assert_eq!(intro["cnf"]["jkt"], key.thumbprint());
    assert_eq!(intro["token_type"], "DPoP");

    // The public client's refresh token is bound to the key as well.
    let other = Key::rsa();
    for proof in [None, Some(other.proof("POST", "/token", None))] {
        let r = refresh_spa(&app, rt, proof.as_deref());
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(error_of(&r), "invalid_grant");
    }
    let r = refresh_spa(&app, rt, Some(&key.proof("POST", "/token", None)));
    assert_eq!(
        r.status,
        200,
        "the failed attempts left the token usable: {}",
        r.text()
    );
    assert_eq!(r.json()["token_type"], "DPoP");
}

#[test]
fn dpop_jkt_binds_the_code() {
    let (_data, app) = code_app();
    let key = Key::ec();
    let other = Key::rsa();
    let mut browser = Browser::default();
    // Each code is bound to the EC key; only a proof of it redeems one.
    let bound_code = |browser: &mut Browser| {
        let params = browser.authorize(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", "spa"),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", "s"),
                ("prompt", "consent"),
                ("code_challenge", crate::token::CHALLENGE),
                ("code_challenge_method", "S256"),
                ("dpop_jkt", &key.thumbprint()),
            ],
        );
        crate::token::param(&params, "code")
            .unwrap_or_else(|| panic!("{params:?}"))
            .to_string()
    };
    let code = bound_code(&mut browser);
    let r = redeem_spa(&app, &code, None);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_grant"));
    let code = bound_code(&mut browser);
    let r = redeem_spa(&app, &code, Some(&other.proof("POST", "/token", None)));
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_grant"));
    let code = bound_code(&mut browser);
    let r = redeem_spa(&app, &code, Some(&key.proof("POST", "/token", None)));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["token_type"], "DPoP");
}

#[test]
fn dpop_token_endpoint_negative_table() {
    let (_data, app) = cc_app();
    let key = Key::ec();
    let auth = basic("cc", SECRET);
    let mut private = key.header();
    private["jwk"]["d"] = json!("FjrnodnVfZS6WqvZc1DiiWCjf8Jv-vOkK1VZBfAYOYc");
    let mut wrong_key = key.header();
    wrong_key["jwk"] = Key::rsa().jwk;
    let good_claims = || json!({"jti": fresh_jti(), "htm": "POST", "htu": format!("{ISSUER}/token"), "iat": now()});
    let flipped = {
        let p = key.proof("POST", "/token", None);
        let (head, sig) = p.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
        bytes[3] ^= 1;
        format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes))
    };
    let replayed = key.proof("POST", "/token", None);
    let r = token_dpop(&app, Some(&auth), Some(&replayed), CC);
    assert_eq!(r.status, 200, "{}", r.text());
    let table: Vec<(&str, String)> = vec![
        (
            "wrong htm",
            key.proof_with("POST", "/token", None, json!({"htm": "GET"})),
        ),
        ("wrong htu", key.proof("POST", "/userinfo", None)),
        (
            "other host",
            key.proof_with(
                "POST",
                "/token",
                None,
                json!({"htu": "https://evil.example/token"}),
            ),
        ),
        (
            "stale iat",
            key.proof_with("POST", "/token", None, json!({"iat": now() - 600})),
        ),
        (
            "future iat",
            key.proof_with("POST", "/token", None, json!({"iat": now() + 600})),
        ),
        (
            "no jti",
            key.proof_with("POST", "/token", None, json!({"jti": null})),
        ),
        ("replayed jti", replayed),
        ("bad signature", flipped),
        ("private key in header", key.sign(private, good_claims())),
        ("key does not match", key.sign(wrong_key, good_claims())),
        ("typ JWT", {
            let mut h = key.header();
            h["typ"] = json!("JWT");
            key.sign(h, good_claims())
        }),
        (
            "alg none",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(r#"{"typ":"dpop+jwt","alg":"none"}"#),
                URL_SAFE_NO_PAD.encode(good_claims().to_string())
            ),
        ),
        ("malformed", "not-a-jwt".to_string()),
        ("oversized", format!("{}.e30.e30", "a".repeat(9000))),
    ];
    for (name, proof) in &table {
        let r = token_dpop(&app, Some(&auth), Some(proof), CC);
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        assert_eq!(error_of(&r), "invalid_dpop_proof", "{name}");
    }
    // Without a proof: a bearer token, unless the client registered
    // dpop_bound_access_tokens (RFC 9449 §5.2).
    let r = token_dpop(&app, Some(&auth), None, CC);
    assert_eq!(r.json()["token_type"], "Bearer");
    let bound = basic("cc-bound", SECRET);
    let r = token_dpop(&app, Some(&bound), None, CC);
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (400, "invalid_dpop_proof")
    );
    let r = token_dpop(
        &app,
        Some(&bound),
        Some(&key.proof("POST", "/token", None)),
        CC,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["token_type"], "DPoP");
}

#[test]
fn dpop_userinfo_negative_table() {
    let (_data, app) = code_app();
    let key = Key::ec();
    let mut browser = Browser::default();
    let code = code_for(&app, &mut browser, "spa", "openid");
    let r = redeem_spa(&app, &code, Some(&key.proof("POST", "/token", None)));
    let at = r.json()["access_token"].as_str().unwrap().to_string();
    let auth = format!("DPoP {at}");
    let used = key.proof("GET", "/userinfo", Some(&at));
    assert_eq!(userinfo(&app, &auth, Some(&used)).status, 200);
    let table: Vec<(&str, Option<String>, &str)> = vec![
        ("no proof", None, "invalid_dpop_proof"),
        ("replayed", Some(used), "invalid_dpop_proof"),
        (
            "no ath",
            Some(key.proof("GET", "/userinfo", None)),
            "invalid_dpop_proof",
        ),
        (
            "wrong ath",
            Some(key.proof("GET", "/userinfo", Some("other"))),
            "invalid_dpop_proof",
        ),
        (
            "wrong htm",
            Some(key.proof("POST", "/userinfo", Some(&at))),
            "invalid_dpop_proof",
        ),
        (
            "wrong htu",
            Some(key.proof("GET", "/token", Some(&at))),
            "invalid_dpop_proof",
        ),
        (
            "stale",
            Some(key.proof_with("GET", "/userinfo", Some(&at), json!({"iat": now() - 600}))),
            "invalid_dpop_proof",
        ),
        (
            "other key",
            Some(Key::rsa().proof("GET", "/userinfo", Some(&at))),
            "invalid_token",
        ),
    ];
    for (name, proof, error) in table {
        let r = userinfo(&app, &auth, proof.as_deref());
        assert_eq!(r.status, 401, "{name}: {}", r.text());
        assert_eq!(error_of(&r), error, "{name}");
        let www = r.header("www-authenticate").unwrap_or_default();
        assert!(
            www.starts_with("DPoP algs=\"ES256 RS256\", error=\""),
            "{name}: {www}"
        );
    }
    // A bearer token presented with the DPoP scheme is not bound to any key.
    let r = token_dpop(&app, None, None, &{
        let code = code_for(&app, &mut browser, "spa", "openid");
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "spa"),
        ])
    });
    let bearer_at = r.json()["access_token"].as_str().unwrap().to_string();
    let r = userinfo(
        &app,
        &format!("DPoP {bearer_at}"),
        Some(&key.proof("GET", "/userinfo", Some(&bearer_at))),
    );
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_token"));
    assert_eq!(
        userinfo(&app, &format!("Bearer {bearer_at}"), None).status,
        200
    );
}

#[test]
fn dpop_nonce_when_required() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, &[("SPIN_VARIABLE_DPOP_REQUIRE_NONCE", "true")]);
    add_client(
        &data,
        "cc",
        Some(SECRET),
        &json!({"grant_types": ["client_credentials"], "scope": "api"}),
    );
    let key = Key::ec();
    let auth = basic("cc", SECRET);
    for proof in [
        key.proof("POST", "/token", None),
        key.proof_with("POST", "/token", None, json!({"nonce": "made-up"})),
    ] {
        let r = token_dpop(&app, Some(&auth), Some(&proof), CC);
        assert_eq!((r.status, error_of(&r).as_str()), (400, "use_dpop_nonce"));
        assert!(r.header("dpop-nonce").is_some_and(|n| !n.is_empty()));
    }
    let r = token_dpop(
        &app,
        Some(&auth),
        Some(&key.proof("POST", "/token", None)),
        CC,
    );
    let nonce = r.header("dpop-nonce").unwrap().to_string();
    let proof = key.proof_with("POST", "/token", None, json!({"nonce": nonce}));
    let r = token_dpop(&app, Some(&auth), Some(&proof), CC);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("dpop-nonce").is_some());
    let at = r.json()["access_token"].as_str().unwrap().to_string();

    // At UserInfo: 401 with the challenge and a nonce; with it, the proof
    // passes (and the client_credentials token has no End-User: 403).
    let auth = format!("DPoP {at}");
    let r = userinfo(&app, &auth, Some(&key.proof("GET", "/userinfo", Some(&at))));
    assert_eq!((r.status, error_of(&r).as_str()), (401, "use_dpop_nonce"));
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"use_dpop_nonce\""));
    let nonce = r.header("dpop-nonce").unwrap().to_string();
    let proof = key.proof_with("GET", "/userinfo", Some(&at), json!({"nonce": nonce}));
    let r = userinfo(&app, &auth, Some(&proof));
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (403, "insufficient_scope")
    );
}

#[test]
fn dpop_proof_replayed_in_parallel_is_accepted_once() {
    let (_data, app) = cc_app();
    let key = Key::ec();
    let auth = basic("cc", SECRET);
    let proof = key.proof("POST", "/token", None);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| s.spawn(|| token_dpop(&app, Some(&auth), Some(&proof), CC).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

/// POST /as/par with an optional DPoP proof.
fn par_dpop(app: &App, auth: Option<&str>, proof: Option<&str>, body: &str) -> Response {
    let mut headers = vec![FORM];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    if let Some(p) = proof {
        headers.push(("dpop", p));
    }
    app.request("POST", "/as/par", &headers, body.as_bytes())
}

/// RFC 9449 §10.1: a DPoP proof at the PAR endpoint is checked like one at
/// /token and binds the code to its key, as `dpop_jkt` does; a `dpop_jkt`
/// for another key, a replayed or a bad proof are refused, never a 5xx.
#[test]
fn dpop_proof_at_par_binds_the_code() {
    let (_data, app) = code_app();
    let key = Key::ec();
    let other = Key::rsa();
    let auth = basic("rp", SECRET);
    let request = |extra: &[(&str, &str)]| {
        let mut p = vec![
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "s"),
            ("prompt", "consent"),
            ("code_challenge", crate::token::CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        p.extend_from_slice(extra);
        form(&p)
    };
    let mut browser = Browser::default();
    let code_of = |browser: &mut Browser, request_uri: &str| {
        let params = browser.authorize(&app, &[("client_id", "rp"), ("request_uri", request_uri)]);
        crate::token::param(&params, "code")
            .unwrap_or_else(|| panic!("{params:?}"))
            .to_string()
    };
    let redeem = |code: &str, proof: Option<&str>| {
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]);
        token_dpop(&app, Some(&auth), proof, &body)
    };
    // A proof alone, and a proof with the matching dpop_jkt: the code is
    // bound to the proof's key.
    for extra in [vec![], vec![("dpop_jkt", key.thumbprint())]] {
        let extra: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let proof = key.proof("POST", "/as/par", None);
        let r = par_dpop(&app, Some(&auth), Some(&proof), &request(&extra));
        assert_eq!(r.status, 201, "{}", r.text());
        let request_uri = r.json()["request_uri"].as_str().unwrap().to_string();
        let code = code_of(&mut browser, &request_uri);
        let r = redeem(&code, Some(&other.proof("POST", "/token", None)));
        assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_grant"));
        // (a failed redemption spends the code: a new one for the right key)
        let proof = key.proof("POST", "/as/par", None);
        let r = par_dpop(&app, Some(&auth), Some(&proof), &request(&extra));
        let request_uri = r.json()["request_uri"].as_str().unwrap().to_string();
        let code = code_of(&mut browser, &request_uri);
        let r = redeem(&code, Some(&key.proof("POST", "/token", None)));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["token_type"], "DPoP");
    }
    // Refusals at PAR, all JSON 4xx.
    let replayed = key.proof("POST", "/as/par", None);
    let r = par_dpop(&app, Some(&auth), Some(&replayed), &request(&[]));
    assert_eq!(r.status, 201, "{}", r.text());
    let other_jkt = other.thumbprint();
    let other_jkt = [("dpop_jkt", other_jkt.as_str())];
    let table: Vec<(String, &[(&str, &str)])> =
        vec![
        (key.proof("POST", "/as/par", None), &other_jkt),
        (replayed.clone(), &[]),
        (key.proof("POST", "/token", None), &[]),
        (key.proof("GET", "/as/par", None), &[]),
        (key.proof_with("POST", "/as/par", None, json!({"iat": now() - 3600})), &[]),
        (key.proof_with("POST", "/as/par", None, json!({"jti": null})), &[]),
        (
            key.sign(
                json!({"typ": "JWT", "alg": "ES256", "jwk": key.jwk}),
                json!({"jti": "x", "htm": "POST", "htu": format!("{ISSUER}/as/par"), "iat": now()}),
            ),
            &[],
        ),
        ("not-a-jwt".into(), &[]),
        ("x".repeat(9000), &[]),
    ];
    for (proof, extra) in &table {
        let r = par_dpop(&app, Some(&auth), Some(proof), &request(extra));
        assert_eq!(
            (r.status, error_of(&r).as_str()),
            (400, "invalid_dpop_proof"),
            "{proof:.40}: {}",
            r.text()
        );
    }
    // Client authentication comes first: a wrong client never burns a proof.
    let proof = key.proof("POST", "/as/par", None);
    let r = par_dpop(
        &app,
        Some("Basic cnA6d3Jvbmc="),
        Some(&proof),
        &request(&[]),
    );
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_client"));
    let r = par_dpop(&app, Some(&auth), Some(&proof), &request(&[]));
    assert_eq!(r.status, 201, "{}", r.text());
}

/// With `dpop_require_nonce`, PAR answers `use_dpop_nonce` with a nonce in
/// `DPoP-Nonce`, and accepts a proof carrying it.
#[test]
fn dpop_nonce_at_par() {
    let data = DataDir::new();
    let app = App::start_with_env(&data, &[("SPIN_VARIABLE_DPOP_REQUIRE_NONCE", "true")]);
    add_client(
        &data,
        "rp",
        Some(SECRET),
        &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
    );
    let key = Key::ec();
    let auth = basic("rp", SECRET);
    let body = form(&[
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("code_challenge", crate::token::CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let r = par_dpop(
        &app,
        Some(&auth),
        Some(&key.proof("POST", "/as/par", None)),
        &body,
    );
    assert_eq!((r.status, error_of(&r).as_str()), (400, "use_dpop_nonce"));
    let nonce = r.header("dpop-nonce").unwrap().to_string();
    let proof = key.proof_with("POST", "/as/par", None, json!({"nonce": nonce}));
    let r = par_dpop(&app, Some(&auth), Some(&proof), &body);
    assert_eq!(r.status, 201, "{}", r.text());
    // Without a proof, PAR is as before.
    assert_eq!(par_dpop(&app, Some(&auth), None, &body).status, 201);
}

/// One proof sent to PAR by parallel requests: exactly one pushed request
/// is stored (the `jti` mark is one conditional insert in op-store).
#[test]
fn dpop_proof_at_par_replayed_in_parallel_is_accepted_once() {
    let (_data, app) = code_app();
    let key = Key::ec();
    let auth = basic("rp", SECRET);
    let body = form(&[
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("code_challenge", crate::token::CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let proof = key.proof("POST", "/as/par", None);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| s.spawn(|| par_dpop(&app, Some(&auth), Some(&proof), &body).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 400),
        "{statuses:?}"
    );
}
