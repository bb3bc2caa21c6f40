//! The implicit and hybrid flows (OIDC Core §3.2, §3.3) through the
//! runner: every response type a client registered, their default
//! `fragment` mode and `form_post`, front-channel ID Tokens verified with
//! an independent JWT library against our JWKS (including `c_hash` and
//! `at_hash`, recomputed here), access tokens from `/authorize` that
//! UserInfo, introspection and revocation recognise, and a table of
//! requests that must be refused at the client's redirect URI in the
//! fragment (never a 5xx).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::{
    add_client, at_client, basic, error_at_client, form, param, setup, Browser, CB, FORM, PASSWORD,
    SECRET,
};
use crate::harness::{admin, admin_command, App, DataDir, ISSUER};

const ALL_TYPES: [&str; 6] = [
    "code",
    "code id_token",
    "code token",
    "code id_token token",
    "id_token",
    "id_token token",
];

/// `setup()` plus the client `spa`, registered for every front-channel
/// response type (and the implicit grant they need).
fn front_setup() -> DataDir {
    let data = setup();
    add_client(
        &data,
        "spa",
        &json!({
            "client_name": "Front Channel App",
            "redirect_uris": [CB],
            "grant_types": ["authorization_code", "implicit"],
            "response_types": ALL_TYPES,
        }),
    );
    admin(
        &data,
        &[
            "user",
            "add",
            "--username",
            "carol",
            "--password",
            PASSWORD,
            "--claims",
            r#"{"email":"carol@example.com","email_verified":true,"name":"Carol"}"#,
        ],
    );
    data
}

fn authz(client: &str, response_type: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type={}&client_id={client}&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb\
         &scope=openid+email&state=st-9{extra}",
        response_type.replace(' ', "+")
    )
}

/// The left half of SHA-256, base64url: `c_hash` / `at_hash` for RS256
/// and ES256 (OIDC Core §3.3.2.11), computed independently.
fn half_hash(value: &str) -> String {
    let d = Sha256::digest(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&d[..16])
}

fn verify(app: &App, token: &str, aud: &str) -> (Algorithm, Value) {
    let header = decode_header(token).unwrap();
    let jwks: JwkSet = serde_json::from_slice(&app.get("/.well-known/jwks.json").body).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[aud]);
    let claims = decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims;
    (header.alg, claims)
}

fn userinfo(app: &App, access_token: &str) -> crate::harness::Response {
    let bearer = format!("Bearer {access_token}");
    app.request("GET", "/userinfo", &[("authorization", &bearer)], b"")
}

fn management(app: &App, path: &str, token: &str) -> crate::harness::Response {
    app.request(
        "POST",
        path,
        &[FORM, ("authorization", &basic("spa", SECRET))],
        form(&[("token", token)]).as_bytes(),
    )
}

#[test]
fn every_front_channel_response_type_returns_verifiable_tokens() {
    let data = front_setup();
    let app = App::start(&data);
    let mut b = Browser::new(&app);

    // code id_token token: login, consent, then everything in the fragment.
    let r = b.sign_in_and_approve(&authz("spa", "code id_token token", "&nonce=n-42"), "carol");
    assert_eq!(r.status, 302, "{}", r.text());
    let loc = r.header("location").unwrap();
    assert!(loc.starts_with(&format!("{CB}#code=")), "{loc}");
    let p = at_client(&r);
    assert_eq!(param(&p, "state"), Some("st-9"));
    assert_eq!(param(&p, "iss"), Some(ISSUER));
    assert_eq!(param(&p, "token_type"), Some("Bearer"));
    assert_eq!(param(&p, "scope"), Some("openid email"));
    let expires_in: i64 = param(&p, "expires_in").unwrap().parse().unwrap();
    assert!(expires_in > 3000 && expires_in <= 3600, "{expires_in}");
    let code = param(&p, "code").unwrap().to_string();
    let access = param(&p, "access_token").unwrap().to_string();
    let (alg, id) = verify(&app, param(&p, "id_token").unwrap(), "spa");
    assert_eq!(alg, Algorithm::RS256, "the registration default");
    assert_eq!(id["nonce"], "n-42");
    assert_eq!(id["c_hash"], half_hash(&code));
    assert_eq!(id["at_hash"], half_hash(&access));
    assert!(id["auth_time"].is_i64() && id["sid"].is_string());
    assert_eq!(id["amr"], json!(["pwd"]));
    assert!(
        id.get("email").is_none(),
        "an access token results: UserInfo serves email"
    );

    // The access token is an RFC 9068 JWT this OP knows.
    let header = decode_header(&access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let (_, at) = verify(&app, &access, ISSUER);
    assert_eq!(
        (at["client_id"].as_str(), at["sub"].as_str()),
        (Some("spa"), id["sub"].as_str())
    );
    assert_eq!(at["scope"], "openid email");
    let r = userinfo(&app, &access);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["sub"], id["sub"]);
    let r = management(&app, "/introspect", &access);
    assert_eq!(r.json()["active"], true, "{}", r.text());
    assert_eq!(r.json()["client_id"], "spa");

    // The code still works at the token endpoint.
    let r = app.request(
        "POST",
        "/token",
        &[FORM, ("authorization", &basic("spa", SECRET))],
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ])
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, back) = verify(&app, r.json()["id_token"].as_str().unwrap(), "spa");
    assert_eq!(back["nonce"], "n-42");

    // Revoking the front-channel access token ends it.
    assert_eq!(management(&app, "/revoke", &access).status, 200);
    assert_eq!(userinfo(&app, &access).status, 401);
    assert_eq!(
        management(&app, "/introspect", &access).json()["active"],
        false
    );

    // Consent is remembered: the other types answer at once.
    let r = b.get(&authz("spa", "id_token", "&nonce=n-1"));
    let p = at_client(&r);
    assert!(r
        .header("location")
        .unwrap()
        .starts_with(&format!("{CB}#id_token=")));
    assert!(param(&p, "code").is_none() && param(&p, "access_token").is_none());
    let (_, id) = verify(&app, param(&p, "id_token").unwrap(), "spa");
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(
        id["email"], "carol@example.com",
        "no access token: claims in the ID Token"
    );
    assert!(id.get("at_hash").is_none() && id.get("c_hash").is_none());

    let r = b.get(&authz("spa", "code token", ""));
    let p = at_client(&r);
    assert!(param(&p, "code").is_some() && param(&p, "id_token").is_none());
    let access = param(&p, "access_token").unwrap();
    assert_eq!(userinfo(&app, access).json()["email"], "carol@example.com");

    let r = b.get(&authz("spa", "code id_token", "&nonce=n-2"));
    let p = at_client(&r);
    assert!(param(&p, "access_token").is_none());
    let (_, id) = verify(&app, param(&p, "id_token").unwrap(), "spa");
    assert_eq!(id["c_hash"], half_hash(param(&p, "code").unwrap()));
    assert!(id.get("at_hash").is_none());

    // form_post carries them too.
    let r = b.get(&authz(
        "spa",
        "id_token token",
        "&nonce=n-3&response_mode=form_post",
    ));
    assert_eq!(r.status, 200);
    let p = at_client(&r);
    let access = param(&p, "access_token").unwrap().to_string();
    let (_, id) = verify(&app, param(&p, "id_token").unwrap(), "spa");
    assert_eq!(id["at_hash"], half_hash(&access));
    assert_eq!(param(&p, "state"), Some("st-9"));

    // Logout ends the session and, with it, the front-channel access token.
    assert_eq!(userinfo(&app, &access).status, 200);
    let hint = param(&p, "id_token").unwrap();
    let r = b.get(&format!("/logout?{}", form(&[("id_token_hint", hint)])));
    assert!(r.status < 400, "{}", r.text());
    assert_eq!(userinfo(&app, &access).status, 401);
}

#[test]
fn front_channel_requests_refused_at_the_client_never_a_5xx() {
    let data = front_setup();
    let app = App::start(&data);
    // (client, response_type, extra, error). Errors of these response types
    // go to the fragment, whatever mode was asked for.
    let long_nonce = "n".repeat(513);
    let long_nonce = format!("&nonce={long_nonce}");
    let table: Vec<(&str, &str, &str, &str)> = vec![
        ("spa", "id_token", "", "invalid_request"),
        ("spa", "code id_token", "", "invalid_request"),
        ("spa", "id_token token", "&nonce=", "invalid_request"),
        ("spa", "code id_token", "&nonce=n&response_mode=query", "invalid_request"),
        ("spa", "code token", "&response_mode=query", "invalid_request"),
        ("spa", "id_token token", "&nonce=n&response_mode=query.xml", "invalid_request"),
        ("spa", "token", "&nonce=n", "unsupported_response_type"),
        ("spa", "code code", "", "unsupported_response_type"),
        ("spa", "id_token", long_nonce.as_str(), "invalid_request"),
        (
            "spa",
            "id_token",
            "&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            "invalid_request",
        ),
        // `web` registered only `code`.
        ("web", "code id_token", "&nonce=n", "unauthorized_client"),
        ("web", "id_token token", "&nonce=n", "unauthorized_client"),
    ];
    for (client, rt, extra, expected) in table {
        let r = app.get(&authz(client, rt, extra));
        assert!(r.status < 500, "{client} {rt} {extra}: {}", r.text());
        let loc = r.header("location").unwrap_or("");
        if rt == "code code" {
            // The requested type is unreadable: the code flow's default.
            assert!(loc.starts_with(&format!("{CB}?error=")), "{rt}: {loc}");
        } else {
            assert!(
                loc.starts_with(&format!("{CB}#error=")),
                "{client} {rt} {extra}: {loc}"
            );
        }
        assert_eq!(error_at_client(&r), expected, "{client} {rt} {extra}");
        assert!(!loc.contains("access_token") && !loc.contains("id_token="));
    }
    // No openid scope: an ID Token cannot be asked for.
    let r =
        app.get(&authz("spa", "id_token", "&nonce=n").replace("scope=openid+email", "scope=email"));
    assert_eq!(error_at_client(&r), "invalid_request");
}

#[test]
fn registration_keeps_response_and_grant_types_consistent() {
    let data = front_setup();
    for (metadata, ok) in [
        (
            json!({"redirect_uris": [CB], "grant_types": ["implicit"], "response_types": ["id_token", "id_token token"]}),
            true,
        ),
        (
            json!({"redirect_uris": [CB], "response_types": ["code", "id_token"]}),
            false,
        ),
        (
            json!({"redirect_uris": [CB], "grant_types": ["implicit"], "response_types": ["code id_token"]}),
            false,
        ),
        (
            json!({"redirect_uris": ["http://client.example.org/cb"], "grant_types": ["implicit"], "response_types": ["id_token"]}),
            false,
        ),
    ] {
        let path = data.dir.path().join("front-client.json");
        std::fs::write(&path, metadata.to_string()).unwrap();
        let out = admin_command(
            &data,
            &["client", "add", "--metadata", &path.to_string_lossy()],
        )
        .output()
        .unwrap();
        assert_eq!(out.status.success(), ok, "{metadata}: {out:?}");
    }

    // Discovery lists exactly what /authorize serves.
    let app = App::start(&data);
    let doc = app.get("/.well-known/openid-configuration").json();
    assert_eq!(doc["response_types_supported"], json!(ALL_TYPES));
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("implicit")));
}

/// RFC 6749 §4.1.2 and OIDC Core §3.3: a replayed code revokes what was
/// issued on that authorization, which in a hybrid flow includes the
/// access token /authorize returned with the code. Redemptions sent in
/// parallel: at most one wins, and the front-channel token dies.
#[test]
fn a_replayed_hybrid_code_revokes_the_front_channel_access_token() {
    let data = front_setup();
    let app = App::start(&data);
    let mut b = Browser::new(&app);
    let redeem = |code: &str| {
        app.request(
            "POST",
            "/token",
            &[FORM, ("authorization", &basic("spa", SECRET))],
            form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CB),
            ])
            .as_bytes(),
        )
    };
    for (i, rt) in ["code token", "code id_token token"].iter().enumerate() {
        let r = if i == 0 {
            b.sign_in_and_approve(&authz("spa", rt, "&nonce=n-r"), "carol")
        } else {
            b.get(&authz("spa", rt, "&nonce=n-r"))
        };
        let p = at_client(&r);
        let code = param(&p, "code").unwrap().to_string();
        let front = param(&p, "access_token").unwrap().to_string();
        assert_eq!(userinfo(&app, &front).status, 200);
        let first = redeem(&code);
        assert_eq!(first.status, 200, "{}", first.text());
        let back = first.json()["access_token"].as_str().unwrap().to_string();
        // The first redemption leaves the front-channel token alone.
        assert_eq!(userinfo(&app, &front).status, 200);
        let replay = redeem(&code);
        assert_eq!(replay.status, 400, "{}", replay.text());
        assert_eq!(replay.json()["error"], "invalid_grant");
        for token in [&front, &back] {
            let r = userinfo(&app, token);
            assert_eq!(r.status, 401, "{rt}: {}", r.text());
            assert!(r
                .header("www-authenticate")
                .unwrap()
                .contains("invalid_token"));
            assert_eq!(
                management(&app, "/introspect", token).json()["active"],
                false
            );
        }
    }
    // Parallel replays of a fresh code: at most one 200, never a 5xx, and
    // the front-channel token is revoked.
    let r = b.get(&authz("spa", "code token", ""));
    let p = at_client(&r);
    let code = param(&p, "code").unwrap().to_string();
    let front = param(&p, "access_token").unwrap().to_string();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6).map(|_| s.spawn(|| redeem(&code).status)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // A replay that lands while the winner is still redeeming makes the
    // winner fail too (`attach-grant`: nothing is issued), so none may win.
    assert!(
        statuses.iter().filter(|&&s| s == 200).count() <= 1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 400),
        "{statuses:?}"
    );
    assert_eq!(userinfo(&app, &front).status, 401);
}
