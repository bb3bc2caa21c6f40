//! The token endpoint through the runner: client_credentials with every
//! client authentication method, access tokens verified against the JWK
//! Set by `jsonwebtoken` (code nobody here wrote), and the error table.
//! The authorization-code and refresh tests are in `code_flow` below.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{json, Value};

use crate::harness::{admin, App, DataDir, Response, ISSUER};

pub const SECRET: &str = "Tr8xQeK3nV0aW9sYbLm2cZ7uH4gJ1pD6fR5tE0iO3kA";
pub const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Test-only P-256 key of the `private_key_jwt` client (PKCS#8).
pub const EC_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFjrnodnVfZS6WqvZ
c1DiiWCjf8Jv+vOkK1VZBfAYOYehRANCAAQJ03Dz6gTsZR/Hfy6mndDtCCkIwB+J
FOS7myZPprTPf/XjT2m0me7YFB+MfgrPjmr10H4XGAGZTTvGyam109mu
-----END PRIVATE KEY-----
";
pub const EC_X: &str = "CdNw8-oE7GUfx38upp3Q7QgpCMAfiRTku5smT6a0z38";
pub const EC_Y: &str = "9eNPabSZ7tgUH4x-Cs-OavXQfhcYAZlNO8bJqbXT2a4";

/// Test-only RSA-2048 key of the RS256 `private_key_jwt` client.
pub const RSA_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC+nBqrR0iRiimd
KDs+acDA7q43byTieGtroiak8stWKbBRYZBjXavbyL9II6JjgIqy6s7yGDFVYN11
pdwvy+A1H+AAAN73Y9SjNDR3MnTrrg3LNNdZCw5WtcdQFIoAPSfF7+Ks24+nvVRi
41IueKloqn77VojsA4CQ7Hb/+Jdf8+XroZr8fR7gnwUaDsE0HkiGIv5BZJ7e06xj
fuPaD7eQ/rB/vb7D6NffuNMXE+8CjP++fEOFO8lykotw1M+Ok5orNkSwq2iRNeQv
bQHcu+94EbyU4mj+/U6eif1teGjUcHQOTUhQiiRRtWSMlnwS0C6fCX26FnkSFfYu
/CFMEFrfAgMBAAECggEAEzasxjIfzF08d5/cD50HteBOsGjO3i3xn2kPcytu4rxo
uQiteM6y6asxLjuP/W6yIc84gBUp4pIqkKw2PJ0qTcCXoE3LgULPZt92yxh2H7cC
TfGsJB4mBQiQKEWBvvzAexvaDL7vGqNOPnpCnkuXFrqvpR83xcP5RuKHK6M/2FyS
z42ClMBma6gy9ExcqkDA0XIzMc/BSmQWLbtntUJFmxDINqfgpDgCjF3NWm3S4euM
i5kevdIXd95EYCZUciyZgjuLOemQEicxsI3MTPqCsF0MYdeshoCzNOStgqgN8KM5
tQurSTQ5IVqPlOy/cJwapWzpKyoGKN3vbBaUtqR9vQKBgQDeF6FDHbzNVsB+qKr5
HazaGH6TZi8S4EbCP2OvgOcpXUCQoH14GaRkrnJSgB9bIAxHygNxA6xxomMu7u7y
MdbYwUvAhQJdBN9ulY8TuNiv3b7qQp9KEg2gqpByPnqZqLDdd19j4gCnbh1d/MSH
SclNiXmqKJKwhXErjRwFzzgrxQKBgQDbtf6/zgzNGj2L4ZU+OWGCFKEDxRpxS5Si
7CiVJMKuvY3utH985PNviqzCa3gaCJrVA1VRra9nwS95gNtIIshNijG2Dv4FjyS2
/CDzTyyWASrvw5A940JL4cDIXa9IHs4thE6zVPXqPJ/3PG7i5oI8Oh2H/KE90pfg
QuUbiYIiUwKBgQC8o1N8v1hrDMFpk3fNKlBz2pRAPG3FWaugN9lC63jsoGFDtp17
kkQYpDdELcD0VG851rM/ncAtsKEP7zATlROIff4Koq8UNRxWQEALn1ilX/JV5YqI
jnb2vYj9EGZv92FqaociPocRryzQdO60fo62BgvJ5LZbqqwqMqvXn191hQKBgBnM
9W1wtPAg9LlIdE4qTtkHsyDONJy5U2sOcHWTK4l5mQE/EPmJqUyf7EmodSIZgJUj
HxHIY6C7fue1ygpei0cPw2atvAbLGHSkhvoLgiDbYj9lp7qcxVxD1m+xELRXab7O
mq9UesxW8jIGVr8ucnzAFlexwv2PjWY4dM8XBsEhAoGANURly4FpVeTr4ASXgJYg
cu3xgGpmmn5G6IARe+cUHbVlPEL0yGaiSBMlzlj55dajUyawDALubKQi/wSPEBCu
pFtPOOUAKTXXATtbJyZoWWkYHFxcIdVqx9JhOu8Wum/Xrb82i30PcUKVuM6jHjMk
vKIM3RDxNQ/CeCY0gaB0a+g=
-----END PRIVATE KEY-----
";
pub const RSA_N: &str = "vpwaq0dIkYopnSg7PmnAwO6uN28k4nhra6ImpPLLVimwUWGQY12r28i_SCOiY4CKsurO8hgxVWDddaXcL8vgNR_gAADe92PUozQ0dzJ0664NyzTXWQsOVrXHUBSKAD0nxe_irNuPp71UYuNSLnipaKp--1aI7AOAkOx2__iXX_Pl66Ga_H0e4J8FGg7BNB5IhiL-QWSe3tOsY37j2g-3kP6wf72-w-jX37jTFxPvAoz_vnxDhTvJcpKLcNTPjpOaKzZEsKtokTXkL20B3LvveBG8lOJo_v1Onon9bXho1HB0Dk1IUIokUbVkjJZ8EtAunwl9uhZ5EhX2LvwhTBBa3w";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `application/x-www-form-urlencoded` (WHATWG serializer).
pub fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// Registers a client with the operator CLI (RFC 7591 metadata).
pub fn add_client(data: &DataDir, client_id: &str, secret: Option<&str>, metadata: &Value) {
    let path = data.dir.path().join(format!("client-{client_id}.json"));
    std::fs::write(&path, metadata.to_string()).unwrap();
    let path = path.to_string_lossy().into_owned();
    let mut args = vec![
        "client",
        "add",
        "--metadata",
        &path,
        "--client-id",
        client_id,
    ];
    if let Some(s) = secret {
        args.extend(["--client-secret", s]);
    }
    admin(data, &args);
}

/// POST /token with a form body and optional `Authorization`.
pub fn token(app: &App, auth: Option<&str>, body: &str) -> Response {
    let mut headers = vec![FORM];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    let r = app.request("POST", "/token", &headers, body.as_bytes());
    assert_token_headers(&r);
    r
}

pub fn assert_token_headers(r: &Response) {
    assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.text());
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert!(r.status < 500, "{} {}", r.status, r.text());
}

pub fn error_of(r: &Response) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

/// Verifies a JWT against the OP's published JWK Set with `jsonwebtoken`;
/// returns its claims.
pub fn verify_jwt(app: &App, token: &str, alg: Algorithm, typ: &str, aud: &str) -> Value {
    verify_jwt_of(app, ISSUER, token, alg, typ, aud)
}

/// [`verify_jwt`] for an app whose issuer is `issuer`.
pub fn verify_jwt_of(
    app: &App,
    issuer: &str,
    token: &str,
    alg: Algorithm,
    typ: &str,
    aud: &str,
) -> Value {
    let header = decode_header(token).unwrap();
    assert_eq!(header.alg, alg);
    assert_eq!(header.typ.as_deref(), Some(typ));
    let jwks: JwkSet = serde_json::from_slice(&app.get("/.well-known/jwks.json").body).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("the signing key is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[aud]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = 5;
    decode::<Value>(token, &key, &v)
        .unwrap_or_else(|e| panic!("{e}: {token}"))
        .claims
}

/// An access token, verified independently, with its RFC 9068 claims.
pub fn verify_access_token(app: &App, token: &str) -> Value {
    let claims = verify_jwt(app, token, Algorithm::ES256, "at+jwt", ISSUER);
    let iat = claims["iat"].as_i64().unwrap();
    assert!((iat - now()).abs() < 60);
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 3600);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 43);
    claims
}

fn assertion(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    encode(&header, claims, key).unwrap()
}

fn assertion_claims(client_id: &str, jti: &str, aud: &str) -> Value {
    let now = now();
    json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60, "jti": jti})
}

fn with_assertion(jwt: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", jwt),
    ];
    pairs.extend_from_slice(extra);
    form(&pairs)
}

fn hs256(jti: &str, aud: &str) -> String {
    assertion(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        &assertion_claims("cc-hs", jti, aud),
    )
}

fn es256(client_id: &str, jti: &str, aud: &str) -> String {
    assertion(
        Algorithm::ES256,
        Some("ec-1"),
        &EncodingKey::from_ec_pem(EC_KEY_PEM.as_bytes()).unwrap(),
        &assertion_claims(client_id, jti, aud),
    )
}

fn rs256(jti: &str, aud: &str) -> String {
    assertion(
        Algorithm::RS256,
        Some("rsa-1"),
        &EncodingKey::from_rsa_pem(RSA_KEY_PEM.as_bytes()).unwrap(),
        &assertion_claims("cc-rs", jti, aud),
    )
}

/// A running app with one client_credentials client per authentication
/// method, and a public client. (The app starts first: it applies the
/// migrations the admin commands need.)
fn clients() -> (DataDir, App) {
    let data = DataDir::new();
    let app = App::start(&data);
    let cc = |method: &str| {
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": method,
               "scope": "api:read api:write"})
    };
    add_client(&data, "cc-basic", Some(SECRET), &cc("client_secret_basic"));
    add_client(&data, "cc-post", Some(SECRET), &cc("client_secret_post"));
    add_client(&data, "cc-hs", Some(SECRET), &cc("client_secret_jwt"));
    let mut ec = cc("private_key_jwt");
    ec["jwks"] = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y,
                                  "kid": "ec-1", "use": "sig", "alg": "ES256"}]});
    add_client(&data, "cc-ec", None, &ec);
    let mut rsa = cc("private_key_jwt");
    rsa["jwks"] = json!({"keys": [{"kty": "RSA", "n": RSA_N, "e": "AQAB",
                                   "kid": "rsa-1", "use": "sig", "alg": "RS256"}]});
    add_client(&data, "cc-rs", None, &rsa);
    // Keys at a jwks_uri op-token may not reach (allowed_outbound_hosts = []).
    let mut remote = cc("private_key_jwt");
    remote["jwks_uri"] = json!("https://keys.example.test/jwks.json");
    add_client(&data, "cc-remote", None, &remote);
    add_client(
        &data,
        "public",
        None,
        &json!({"redirect_uris": ["https://rp.example.test/cb"],
                "token_endpoint_auth_method": "none"}),
    );
    add_client(
        &data,
        "code-only",
        Some(SECRET),
        &json!({"redirect_uris": ["https://rp.example.test/cb"]}),
    );
    (data, app)
}

fn check_cc(app: &App, r: &Response, client_id: &str, scope: &str) {
    assert_eq!(r.status, 200, "{client_id}: {}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], scope);
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("id_token").is_none());
    let claims = verify_access_token(app, body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], client_id);
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["scope"], scope);
}

#[test]
fn client_credentials_with_every_client_authentication_method() {
    let (_data, app) = clients();
    let token_endpoint = format!("{ISSUER}/token");
    let all = "api:read api:write";

    let r = token(
        &app,
        Some(&basic("cc-basic", SECRET)),
        "grant_type=client_credentials&scope=api%3Aread",
    );
    check_cc(&app, &r, "cc-basic", "api:read");
    let r = token(
        &app,
        None,
        &form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "cc-post"),
            ("client_secret", SECRET),
        ]),
    );
    check_cc(&app, &r, "cc-post", all);
    let r = token(
        &app,
        None,
        &with_assertion(&hs256("hs-1", &token_endpoint), &[]),
    );
    check_cc(&app, &r, "cc-hs", all);
    // The issuer identifier is an accepted audience too.
    let r = token(&app, None, &with_assertion(&hs256("hs-2", ISSUER), &[]));
    check_cc(&app, &r, "cc-hs", all);
    let r = token(
        &app,
        None,
        &with_assertion(
            &es256("cc-ec", "ec-1", &token_endpoint),
            &[("client_id", "cc-ec")],
        ),
    );
    check_cc(&app, &r, "cc-ec", all);
    let r = token(
        &app,
        None,
        &with_assertion(&rs256("rs-1", &token_endpoint), &[]),
    );
    check_cc(&app, &r, "cc-rs", all);

    // A tampered access token does not verify (the check above can fail).
    let r = token(
        &app,
        Some(&basic("cc-basic", SECRET)),
        "grant_type=client_credentials",
    );
    let at = r.json()["access_token"].as_str().unwrap().to_string();
    let mut parts: Vec<String> = at.split('.').map(str::to_string).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let jwks: JwkSet = serde_json::from_slice(&app.get("/.well-known/jwks.json").body).unwrap();
    let kid = decode_header(&at).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(Algorithm::ES256);
    v.set_audience(&[ISSUER]);
    assert!(decode::<Value>(&parts.join("."), &key, &v).is_err());
}

#[test]
fn token_endpoint_error_table() {
    let (_data, app) = clients();
    let te = format!("{ISSUER}/token");
    let cc = "grant_type=client_credentials";
    let post_creds = format!("client_id=cc-post&client_secret={SECRET}");
    let b = basic("cc-basic", SECRET);

    // Method and content type.
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let r = app.request(method, "/token", &[FORM], cc.as_bytes());
        assert_token_headers(&r);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    }
    for ct in [
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let r = app.request(
            "POST",
            "/token",
            &[("content-type", ct), ("authorization", &b)],
            cc.as_bytes(),
        );
        assert_token_headers(&r);
        assert_eq!(
            (r.status, error_of(&r).as_str()),
            (400, "invalid_request"),
            "{ct}"
        );
    }
    let r = app.request("POST", "/token", &[("authorization", &b)], cc.as_bytes());
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_request"));

    // (authorization, body, status, error)
    let hs_replayed = hs256("hs-replay", &te);
    let first = token(&app, None, &with_assertion(&hs_replayed, &[]));
    assert_eq!(first.status, 200, "{}", first.text());
    let ec_replayed = es256("cc-ec", "ec-replay", &te);
    assert_eq!(
        token(&app, None, &with_assertion(&ec_replayed, &[])).status,
        200
    );
    let expired = assertion(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        &json!({"iss": "cc-hs", "sub": "cc-hs", "aud": te, "iat": now() - 600,
                "exp": now() - 300, "jti": "hs-expired"}),
    );
    let big = format!("{cc}&{post_creds}&pad={}", "x".repeat(70_000));
    let table: Vec<(Option<String>, String, u16, &str)> = vec![
        // Parameters.
        (Some(b.clone()), String::new(), 400, "invalid_request"),
        (Some(b.clone()), "scope=api%3Aread".into(), 400, "invalid_request"),
        (Some(b.clone()), format!("{cc}&{cc}"), 400, "invalid_request"),
        (Some(b.clone()), format!("{cc}&scope=a&scope=b"), 400, "invalid_request"),
        (Some(b.clone()), "grant_type=password&username=a&password=b".into(), 400, "unsupported_grant_type"),
        (Some(b.clone()), "grant_type=implicit".into(), 400, "unsupported_grant_type"),
        (Some(b.clone()), "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Asaml2-bearer".into(), 400, "unsupported_grant_type"),
        (Some(b.clone()), format!("{cc}&x=%zz"), 400, "invalid_request"),
        (None, big, 400, "invalid_request"),
        (Some(b.clone()), format!("{cc}&scope=api%3Adelete"), 400, "invalid_scope"),
        (Some(b.clone()), format!("{cc}&scope=openid"), 400, "invalid_scope"),
        // Client authentication.
        (None, cc.into(), 401, "invalid_client"),
        (Some(basic("cc-basic", "wrong")), cc.into(), 401, "invalid_client"),
        (Some(basic("nobody", SECRET)), cc.into(), 401, "invalid_client"),
        (Some(basic("cc-post", SECRET)), cc.into(), 401, "invalid_client"),
        (None, format!("{cc}&client_id=cc-basic&client_secret={SECRET}"), 401, "invalid_client"),
        (None, format!("{cc}&client_id=cc-post&client_secret=wrong"), 401, "invalid_client"),
        (None, format!("{cc}&client_id=cc-post"), 401, "invalid_client"),
        (Some("Basic !!!".into()), cc.into(), 401, "invalid_client"),
        (Some(b.clone()), format!("{cc}&client_secret={SECRET}"), 400, "invalid_request"),
        (Some(b.clone()), format!("{cc}&client_id=cc-post"), 400, "invalid_request"),
        (None, format!("{cc}&client_secret={SECRET}"), 400, "invalid_request"),
        (None, with_assertion(&hs_replayed, &[]), 401, "invalid_client"),
        (None, with_assertion(&ec_replayed, &[]), 401, "invalid_client"),
        (None, with_assertion(&hs256("hs-aud", "https://other.example.test/token"), &[]), 401, "invalid_client"),
        (None, with_assertion(&expired, &[]), 401, "invalid_client"),
        (None, with_assertion(&es256("cc-rs", "wrong-key", &te), &[]), 401, "invalid_client"),
        (None, with_assertion(&es256("cc-remote", "remote", &te), &[]), 401, "invalid_client"),
        (None, with_assertion(&hs256("hs-cid", &te), &[("client_id", "cc-post")]), 401, "invalid_client"),
        (None, form(&[("grant_type", "client_credentials"), ("client_assertion", "a.b.c")]), 400, "invalid_request"),
        (None, form(&[("grant_type", "client_credentials"), ("client_assertion_type", JWT_BEARER), ("client_assertion", "not-a-jwt")]), 401, "invalid_client"),
        // The client may not use the grant.
        (None, format!("{cc}&client_id=public"), 400, "unauthorized_client"),
        (Some(basic("code-only", SECRET)), cc.into(), 400, "unauthorized_client"),
        (Some(b.clone()), "grant_type=refresh_token&refresh_token=x".into(), 400, "unauthorized_client"),
        (Some(b.clone()), "grant_type=authorization_code&code=x".into(), 400, "unauthorized_client"),
        // Grant parameters.
        (Some(basic("code-only", SECRET)), "grant_type=authorization_code".into(), 400, "invalid_request"),
        (Some(basic("code-only", SECRET)), "grant_type=authorization_code&code=unknown&redirect_uri=https%3A%2F%2Frp.example.test%2Fcb".into(), 400, "invalid_grant"),
    ];
    for (auth, body, status, error) in &table {
        let r = token(&app, auth.as_deref(), body);
        let what = format!("{auth:?} {body:.120}");
        assert_eq!(r.status, *status, "{what}: {}", r.text());
        assert_eq!(error_of(&r), *error, "{what}");
        let basic_used = auth.as_deref().is_some_and(|a| a.starts_with("Basic"));
        assert_eq!(
            r.header("www-authenticate"),
            (basic_used && *status == 401).then_some("Basic realm=\"authrim\""),
            "{what}"
        );
    }
    // Unknown parameters are ignored (RFC 6749 §3.2).
    let r = token(&app, Some(&b), &format!("{cc}&foo=bar&resource_x=1"));
    assert_eq!(r.status, 200, "{}", r.text());
    // CORS for browser-based clients.
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let r = app.request("OPTIONS", "/token", &[], b"");
    assert_eq!(r.status, 204);
}

// ------------------------------------------------- the authorization code flow

pub const REDIRECT: &str = "https://rp.example.test/cb";
pub const USERNAME: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";
// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Creates the user every code-flow test signs in as.
pub fn add_user(data: &DataDir) {
    let claims = json!({
        "name": "Alice Doe", "given_name": "Alice", "email": "alice@example.test",
        "email_verified": true, "phone_number": "+1 555 0100",
    })
    .to_string();
    admin(
        data,
        &[
            "user",
            "add",
            "--username",
            USERNAME,
            "--password",
            PASSWORD,
            "--claims",
            &claims,
        ],
    );
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The parameters of a URL's query.
pub fn query_params(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(n), percent_decode(v))
        })
        .collect()
}

/// A user agent: follows the login and consent pages of op-auth, keeps
/// cookies, and stops at the client's redirect URI.
#[derive(Default)]
pub struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn send(&mut self, app: &App, method: &str, path: &str, body: Option<&str>) -> Response {
        let cookie = self.cookie_header();
        let mut headers = vec![];
        if !cookie.is_empty() {
            headers.push(("cookie", cookie.as_str()));
        }
        if body.is_some() {
            headers.push(FORM);
        }
        let r = app.request(method, path, &headers, body.unwrap_or("").as_bytes());
        for (n, v) in &r.headers {
            if n == "set-cookie" {
                let pair = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    self.cookies.retain(|(n, _)| n != name.trim());
                    if !value.is_empty() {
                        self.cookies
                            .push((name.trim().to_string(), value.trim().to_string()));
                    }
                }
            }
        }
        r
    }

    /// Runs an authorization request to its end: the parameters the client
    /// receives at its redirect URI.
    pub fn authorize(&mut self, app: &App, params: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut r = self.send(app, "GET", &format!("/authorize?{}", form(params)), None);
        for _ in 0..10 {
            match r.status {
                302 | 303 => {
                    let location = r.header("location").expect("location").to_string();
                    if location.starts_with(REDIRECT) {
                        return query_params(&location);
                    }
                    let path = if location.starts_with('/') {
                        location
                    } else {
                        format!("/{location}")
                    };
                    r = self.send(app, "GET", &path, None);
                }
                200 => {
                    let html = r.text();
                    let action = between(&html, "<form method=\"post\" action=\"", "\"")
                        .unwrap_or_else(|| panic!("no form in {html}"));
                    let mut fields: Vec<(String, String)> = Vec::new();
                    let mut rest = html.as_str();
                    while let Some(i) = rest.find("type=\"hidden\" name=\"") {
                        rest = &rest[i + 20..];
                        let name = between(rest, "", "\"").unwrap();
                        let value = between(rest, "value=\"", "\"").unwrap();
                        fields.push((name, value));
                    }
                    match action.as_str() {
                        "login" => {
                            fields.push(("username".into(), USERNAME.into()));
                            fields.push(("password".into(), PASSWORD.into()));
                        }
                        "consent" => fields.push(("decision".into(), "approve".into())),
                        other => panic!("unexpected form {other}"),
                    }
                    let pairs: Vec<(&str, &str)> = fields
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str()))
                        .collect();
                    r = self.send(app, "POST", &format!("/{action}"), Some(&form(&pairs)));
                }
                s => panic!("authorization stopped at {s}: {}", r.text()),
            }
        }
        panic!("too many steps");
    }
}

fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(s[from..from + len].to_string())
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Signs in and returns an authorization code for `client_id`.
pub fn code_for(app: &App, browser: &mut Browser, client_id: &str, scope: &str) -> String {
    let params = browser.authorize(
        app,
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", "n-0S6_WzA2Mj"),
            ("prompt", "consent"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(param(&params, "state"), Some("st-1"), "{params:?}");
    param(&params, "code")
        .unwrap_or_else(|| panic!("no code: {params:?}"))
        .to_string()
}

/// The client authentication of each code-flow client, as (authorization
/// header, extra body parameters).
pub fn client_auth(client_id: &str) -> (Option<String>, Vec<(String, String)>) {
    let te = format!("{ISSUER}/token");
    let jti = format!("{client_id}-{}", now_nanos());
    let with_jwt = |jwt: String| {
        vec![
            ("client_assertion_type".to_string(), JWT_BEARER.to_string()),
            ("client_assertion".to_string(), jwt),
        ]
    };
    match client_id {
        "rp" => (Some(basic("rp", SECRET)), vec![]),
        "rp-post" => (
            None,
            vec![
                ("client_id".into(), "rp-post".into()),
                ("client_secret".into(), SECRET.into()),
            ],
        ),
        "rp-hs" => (
            None,
            with_jwt(assertion(
                Algorithm::HS256,
                None,
                &EncodingKey::from_secret(SECRET.as_bytes()),
                &assertion_claims("rp-hs", &jti, &te),
            )),
        ),
        "rp-ec" => (None, with_jwt(es256("rp-ec", &jti, &te))),
        "rp-rs" => (None, with_jwt(assertion_for_rsa("rp-rs", &jti, &te))),
        public => (None, vec![("client_id".into(), public.into())]),
    }
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn assertion_for_rsa(client_id: &str, jti: &str, aud: &str) -> String {
    assertion(
        Algorithm::RS256,
        Some("rsa-1"),
        &EncodingKey::from_rsa_pem(RSA_KEY_PEM.as_bytes()).unwrap(),
        &assertion_claims(client_id, jti, aud),
    )
}

/// A token request of `client_id` with its authentication.
pub fn token_as(app: &App, client_id: &str, params: &[(&str, &str)]) -> Response {
    let (auth, extra) = client_auth(client_id);
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    pairs.extend(extra.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    token(app, auth.as_deref(), &form(&pairs))
}

pub fn redeem(app: &App, client_id: &str, code: &str) -> Response {
    token_as(
        app,
        client_id,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
}

/// A running app with the code-flow clients (one per authentication
/// method) and the user.
pub fn code_flow_app() -> (DataDir, App) {
    let data = DataDir::new();
    let app = App::start(&data);
    let rp = |method: &str| {
        json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": method,
               "grant_types": ["authorization_code", "refresh_token"], "client_name": "Test RP"})
    };
    add_client(&data, "rp", Some(SECRET), &rp("client_secret_basic"));
    let mut post = rp("client_secret_post");
    post["id_token_signed_response_alg"] = json!("ES256");
    add_client(&data, "rp-post", Some(SECRET), &post);
    add_client(&data, "rp-hs", Some(SECRET), &rp("client_secret_jwt"));
    let mut ec = rp("private_key_jwt");
    ec["jwks"] = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y,
                                  "kid": "ec-1", "use": "sig", "alg": "ES256"}]});
    add_client(&data, "rp-ec", None, &ec);
    let mut rs = rp("private_key_jwt");
    rs["jwks"] = json!({"keys": [{"kty": "RSA", "n": RSA_N, "e": "AQAB",
                                  "kid": "rsa-1", "use": "sig", "alg": "RS256"}]});
    add_client(&data, "rp-rs", None, &rs);
    add_client(&data, "spa", None, &rp("none"));
    add_user(&data);
    (data, app)
}

/// `at_hash` computed here (OIDC Core §3.1.3.6): the left half of the
/// SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The claims of an ID Token, verified against the JWK Set with
/// `jsonwebtoken`, and checked against the token response it came in.
pub fn verify_id_token(app: &App, body: &Value, client_id: &str, alg: Algorithm) -> Value {
    let id_token = body["id_token"].as_str().expect("id_token");
    let access_token = body["access_token"].as_str().unwrap();
    let id = verify_jwt(app, id_token, alg, "JWT", client_id);
    assert_eq!(id["aud"], client_id);
    assert!(id.get("azp").is_none(), "one audience, no azp");
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["at_hash"], at_hash(access_token));
    let auth_time = id["auth_time"].as_i64().expect("auth_time");
    assert!(auth_time <= now() + 1 && auth_time > now() - 600);
    assert!(id["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        3600
    );
    id
}

#[test]
fn code_flow_for_every_client_authentication_method() {
    let (_data, app) = code_flow_app();
    let mut browser = Browser::default();
    let mut subs = Vec::new();
    for client in ["rp", "rp-post", "rp-hs", "rp-ec", "rp-rs", "spa"] {
        let code = code_for(&app, &mut browser, client, "openid profile email");
        let r = redeem(&app, client, &code);
        assert_eq!(r.status, 200, "{client}: {}", r.text());
        let body = r.json();
        assert_eq!(body["token_type"], "Bearer", "{client}");
        assert_eq!(body["scope"], "openid profile email", "{client}");
        assert!(
            body.get("refresh_token").is_none(),
            "{client}: no offline_access"
        );
        let alg = if client == "rp-post" {
            Algorithm::ES256
        } else {
            Algorithm::RS256
        };
        let id = verify_id_token(&app, &body, client, alg);
        let at = body["access_token"].as_str().unwrap();
        let at_claims = verify_access_token(&app, at);
        assert_eq!(at_claims["sub"], id["sub"], "{client}");
        assert_eq!(at_claims["client_id"], client);
        assert_eq!(at_claims["scope"], "openid profile email");
        assert_eq!(at_claims["auth_time"], id["auth_time"]);
        subs.push(id["sub"].as_str().unwrap().to_string());

        let info = crate::userinfo::userinfo_get(&app, at);
        assert_eq!(info.status, 200, "{client}: {}", info.text());
        assert_eq!(info.json()["sub"], id["sub"]);
        assert_eq!(info.json()["email"], "alice@example.test");

        // The code is spent; presenting it again revokes what it gave.
        let again = redeem(&app, client, &code);
        assert_eq!(again.status, 400, "{client}");
        assert_eq!(error_of(&again), "invalid_grant");
        let info = crate::userinfo::userinfo_get(&app, at);
        assert_eq!(info.status, 401, "{client}: {}", info.text());
    }
    subs.dedup();
    assert_eq!(subs.len(), 1, "one user, one sub: {subs:?}");
}

#[test]
fn code_redemption_error_table() {
    let (_data, app) = code_flow_app();
    let mut browser = Browser::default();
    let bad_verifier = "A".repeat(43);
    // (client, parameters after grant_type and code, status, error)
    type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);
    let rows: Vec<Row> = vec![
        (
            "rp-post",
            vec![("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)],
            400,
            "invalid_grant",
        ),
        (
            "rp",
            vec![
                ("redirect_uri", "https://rp.example.test/cb/"),
                ("code_verifier", VERIFIER),
            ],
            400,
            "invalid_grant",
        ),
        (
            "rp",
            vec![("code_verifier", VERIFIER)],
            400,
            "invalid_request",
        ),
        ("rp", vec![("redirect_uri", REDIRECT)], 400, "invalid_grant"),
        (
            "rp",
            vec![("redirect_uri", REDIRECT), ("code_verifier", &bad_verifier)],
            400,
            "invalid_grant",
        ),
        (
            "rp",
            vec![("redirect_uri", REDIRECT), ("code_verifier", "short")],
            400,
            "invalid_grant",
        ),
    ];
    for (client, extra, status, error) in &rows {
        let code = code_for(&app, &mut browser, "rp", "openid");
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        params.extend(extra.iter().copied());
        let r = token_as(&app, client, &params);
        assert_eq!(r.status, *status, "{client} {extra:?}: {}", r.text());
        assert_eq!(error_of(&r), *error, "{client} {extra:?}");
        // The code was consumed by the failed attempt.
        assert_eq!(error_of(&redeem(&app, "rp", &code)), "invalid_grant");
    }
}

fn offline_tokens(app: &App, browser: &mut Browser) -> Value {
    let code = code_for(app, browser, "rp", "openid profile offline_access");
    let r = redeem(app, "rp", &code);
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert!(body["refresh_token"].as_str().is_some(), "{body}");
    body
}

fn refresh(app: &App, client: &str, refresh_token: &str, scope: Option<&str>) -> Response {
    let mut params = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(s) = scope {
        params.push(("scope", s));
    }
    token_as(app, client, &params)
}

#[test]
fn refresh_rotation_narrowing_and_reuse_detection() {
    let (_data, app) = code_flow_app();
    let mut browser = Browser::default();
    let first = offline_tokens(&app, &mut browser);
    let rt1 = first["refresh_token"].as_str().unwrap();

    let r = refresh(&app, "rp", rt1, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let second = r.json();
    assert!(second.get("id_token").is_none(), "no ID Token on refresh");
    assert_eq!(second["scope"], "openid profile offline_access");
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    let at2 = verify_access_token(&app, second["access_token"].as_str().unwrap());
    assert_eq!(at2["client_id"], "rp");

    // Narrowing applies to this access token only; widening is refused.
    let r = refresh(&app, "rp", rt2, Some("openid"));
    assert_eq!(r.status, 200, "{}", r.text());
    let third = r.json();
    assert_eq!(third["scope"], "openid");
    let info = crate::userinfo::userinfo_get(&app, third["access_token"].as_str().unwrap());
    assert_eq!(info.status, 200);
    assert!(info.json().get("name").is_none(), "{}", info.text());
    let rt3 = third["refresh_token"].as_str().unwrap();
    let r = refresh(&app, "rp", rt3, Some("openid profile email"));
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_scope"));
    // Another client cannot use it, and its attempt changes nothing.
    let r = refresh(&app, "rp-post", rt3, None);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_grant"));
    let r = refresh(&app, "rp", rt3, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let fourth = r.json();
    assert_eq!(fourth["scope"], "openid profile offline_access");
    let at4 = fourth["access_token"].as_str().unwrap();
    assert_eq!(crate::userinfo::userinfo_get(&app, at4).status, 200);

    // Presenting a rotated token revokes the family (RFC 9700 §4.14.2).
    let r = refresh(&app, "rp", rt1, None);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_grant"));
    let rt4 = fourth["refresh_token"].as_str().unwrap();
    let r = refresh(&app, "rp", rt4, None);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_grant"));
    assert_eq!(crate::userinfo::userinfo_get(&app, at4).status, 401);
}

const PARALLEL: usize = 8;

/// Sends the same request from `PARALLEL` threads released together.
fn race(request: impl Fn() -> Response + Sync) -> Vec<Response> {
    let barrier = std::sync::Barrier::new(PARALLEL);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..PARALLEL)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    request()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// op-token's answer to the redemption that won the code while a replay
/// of it arrived (it then issues nothing).
const REPLAYED_DURING_REDEMPTION: &str =
    "authorization code was used again while it was being redeemed; nothing was issued";

#[test]
fn parallel_redemptions_of_one_code_one_wins_and_is_then_revoked() {
    let (_data, app) = code_flow_app();
    let mut browser = Browser::default();
    for _ in 0..3 {
        let code = code_for(&app, &mut browser, "rp", "openid profile offline_access");
        let results = race(|| redeem(&app, "rp", &code));
        let texts: Vec<String> = results.iter().map(|r| r.text()).collect();
        // Exactly one request redeemed the code. It got tokens only if no
        // replay arrived before it had attached its grant; either way
        // everything it was given is revoked by the replays.
        let winners: Vec<&Response> = results
            .iter()
            .filter(|r| {
                r.status == 200 || r.json()["error_description"] == REPLAYED_DURING_REDEMPTION
            })
            .collect();
        assert_eq!(winners.len(), 1, "{texts:?}");
        for r in &results {
            if r.status != 200 {
                assert_eq!((r.status, error_of(r).as_str()), (400, "invalid_grant"));
            }
        }
        if winners[0].status == 200 {
            let body = winners[0].json();
            let at = body["access_token"].as_str().unwrap();
            assert_eq!(crate::userinfo::userinfo_get(&app, at).status, 401);
            let rt = body["refresh_token"].as_str().unwrap();
            assert_eq!(error_of(&refresh(&app, "rp", rt, None)), "invalid_grant");
        }
    }
}

#[test]
fn parallel_refreshes_of_one_token_one_wins() {
    let (_data, app) = code_flow_app();
    let mut browser = Browser::default();
    let tokens = offline_tokens(&app, &mut browser);
    let rt = tokens["refresh_token"].as_str().unwrap();
    let results = race(|| refresh(&app, "rp", rt, None));
    let winners = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        winners,
        1,
        "{:?}",
        results.iter().map(|r| r.text()).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!((r.status, error_of(r).as_str()), (400, "invalid_grant"));
    }
}
