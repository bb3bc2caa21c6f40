//! JWT Secured Authorization Response Mode (JARM) through the runner:
//! `query.jwt`, `fragment.jwt`, `form_post.jwt` and `jwt`, for successes
//! and errors, signed with the client's `authorization_signed_response_alg`
//! (RS256 by default) and verified by an independent JWT library against
//! our JWKS (`iss`, `aud`, `exp`); jwcrypto (Python, code nobody here
//! wrote) verifies one too.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use std::process::Command;

use crate::auth::{
    add_client, at_client, basic, form, param, setup, Browser, CB, FORM, PASSWORD, SECRET,
};
use crate::harness::{admin_command, repo_root, App, DataDir, ISSUER};

fn jarm_setup() -> DataDir {
    let data = setup();
    let types = [
        "code",
        "code id_token",
        "code id_token token",
        "id_token token",
    ];
    add_client(
        &data,
        "jarm-rs",
        &json!({"redirect_uris": [CB], "grant_types": ["authorization_code", "implicit"],
                "response_types": types}),
    );
    add_client(
        &data,
        "jarm-es",
        &json!({"redirect_uris": [CB], "grant_types": ["authorization_code", "implicit"],
                "response_types": types, "authorization_signed_response_alg": "ES256"}),
    );
    data
}

fn authz(client: &str, response_type: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type={}&client_id={client}&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb\
         &scope=openid&state=st-j&nonce=n-j{extra}",
        response_type.replace(' ', "+")
    )
}

/// The `response` JWT's claims, verified against our JWKS for `aud`.
fn verify(app: &App, jwt: &str, aud: &str) -> (Algorithm, Value) {
    let header = decode_header(jwt).unwrap();
    let jwks: JwkSet = serde_json::from_slice(&app.get("/.well-known/jwks.json").body).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[aud]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    let claims = decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims;
    (header.alg, claims)
}

/// The one `response` parameter a JARM response carries; where it came.
fn response_jwt(r: &crate::harness::Response) -> (char, String) {
    let p = at_client(r);
    assert_eq!(p.len(), 1, "only `response`: {p:?}");
    let how = match r.header("location") {
        None => 'p',
        Some(loc) => loc.as_bytes()[CB.len()] as char,
    };
    (how, param(&p, "response").unwrap().to_string())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn jarm_responses_are_signed_for_the_client_in_every_mode() {
    let data = jarm_setup();
    let app = App::start(&data);
    let mut b = Browser::new(&app);

    // `jwt` for code is query.jwt; RS256 by default.
    let r = b.sign_in_and_approve(&authz("jarm-rs", "code", "&response_mode=jwt"), "alice");
    let (how, jwt) = response_jwt(&r);
    assert_eq!(how, '?');
    let (alg, c) = verify(&app, &jwt, "jarm-rs");
    assert_eq!(alg, Algorithm::RS256);
    assert_eq!(c["state"], "st-j");
    let exp = c["exp"].as_i64().unwrap();
    assert!(exp > now() && exp <= now() + 600, "short-lived: {exp}");
    let code = c["code"].as_str().unwrap().to_string();
    let r = app.request(
        "POST",
        "/token",
        &[FORM, ("authorization", &basic("jarm-rs", SECRET))],
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ])
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "the code inside the JWT works: {}", r.text());

    // `jwt` for a hybrid type is fragment.jwt, with every artifact inside.
    let r = b.get(&authz(
        "jarm-rs",
        "code id_token token",
        "&response_mode=jwt",
    ));
    let (how, jwt) = response_jwt(&r);
    assert_eq!(how, '#');
    let (_, c) = verify(&app, &jwt, "jarm-rs");
    for k in [
        "code",
        "access_token",
        "id_token",
        "token_type",
        "expires_in",
        "state",
    ] {
        assert!(c.get(k).is_some(), "{k}: {c}");
    }

    // form_post.jwt: one hidden field, POSTed.
    let r = b.get(&authz("jarm-rs", "code", "&response_mode=form_post.jwt"));
    assert_eq!(r.status, 200);
    let (how, jwt) = response_jwt(&r);
    assert_eq!(how, 'p');
    assert!(verify(&app, &jwt, "jarm-rs").1["code"].is_string());

    // The ES256 client gets ES256, with its own audience.
    let mut other = Browser::new(&app);
    let r = other.sign_in_and_approve(&authz("jarm-es", "code", "&response_mode=query.jwt"), "bob");
    let (_, jwt) = response_jwt(&r);
    let (alg, c) = verify(&app, &jwt, "jarm-es");
    assert_eq!(
        (alg, c["aud"].as_str()),
        (Algorithm::ES256, Some("jarm-es"))
    );

    // jwcrypto verifies a response against our JWKS.
    let out = Command::new("python3")
        .arg(repo_root().join("tests/interop/jwcrypto_jarm.py"))
        .env("JWKS_JSON", app.get("/.well-known/jwks.json").text())
        .env("RESPONSE_JWT", &jwt)
        .env("ISSUER", ISSUER)
        .env("CLIENT_ID", "jarm-es")
        .output()
        .expect("python3 with jwcrypto (scripts/install-test-deps)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("passed, 0 failed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn jarm_errors_are_signed_too_and_never_a_5xx() {
    let data = jarm_setup();
    let app = App::start(&data);

    // prompt=none without a session: login_required, signed.
    let r = app.get(&authz(
        "jarm-rs",
        "code",
        "&response_mode=query.jwt&prompt=none",
    ));
    let (how, jwt) = response_jwt(&r);
    assert_eq!(how, '?');
    let (_, c) = verify(&app, &jwt, "jarm-rs");
    assert_eq!(
        (c["error"].as_str(), c["state"].as_str()),
        (Some("login_required"), Some("st-j"))
    );

    // A user's denial, signed.
    let mut b = Browser::new(&app);
    let r = b.get(&authz("jarm-rs", "code", "&response_mode=fragment.jwt"));
    let login = b.follow(&r);
    let r = b.login(&login, "alice", PASSWORD);
    let consent = b.follow(&r);
    let r = b.submit(&consent, "/consent", &[("decision", "deny")]);
    let (how, jwt) = response_jwt(&r);
    assert_eq!(how, '#');
    assert_eq!(verify(&app, &jwt, "jarm-rs").1["error"], "access_denied");

    // Request errors: (client, type, extra, error, where).
    let table = [
        (
            "jarm-rs",
            "code id_token",
            "&response_mode=query.jwt",
            "invalid_request",
            '#',
        ),
        (
            "jarm-rs",
            "code token",
            "&response_mode=jwt",
            "unauthorized_client",
            '#',
        ),
        (
            "jarm-rs",
            "code",
            "&response_mode=jwt&max_age=x",
            "invalid_request",
            '?',
        ),
        (
            "jarm-es",
            "code id_token",
            "&response_mode=jwt&nonce=",
            "invalid_request",
            '#',
        ),
    ];
    for (client, rt, extra, error, place) in table {
        let r = app.get(&authz(client, rt, extra).replace("&nonce=n-j", ""));
        assert!(r.status < 500, "{rt} {extra}: {}", r.text());
        let (how, jwt) = response_jwt(&r);
        assert_eq!(how, place, "{rt} {extra}");
        let (_, c) = verify(&app, &jwt, client);
        assert_eq!(c["error"], error, "{rt} {extra}: {c}");
    }

    // An unknown mode is refused in the clear (which mode would we trust?).
    let r = app.get(&authz("jarm-rs", "code", "&response_mode=query.JWT"));
    assert_eq!(param(&at_client(&r), "error"), Some("invalid_request"));
}

#[test]
fn jarm_client_metadata() {
    let data = DataDir::new();
    for (metadata, ok) in [
        (
            json!({"redirect_uris": [CB], "authorization_signed_response_alg": "ES256"}),
            true,
        ),
        (
            json!({"redirect_uris": [CB], "authorization_signed_response_alg": "HS256"}),
            false,
        ),
        (
            json!({"redirect_uris": [CB], "authorization_signed_response_alg": "none"}),
            false,
        ),
        (
            json!({"redirect_uris": [CB], "authorization_encrypted_response_alg": "RSA-OAEP-256"}),
            false, // needs jwks or jwks_uri (tests/e2e/front_jwe.rs)
        ),
    ] {
        let path = data.dir.path().join("jarm-client.json");
        std::fs::write(&path, metadata.to_string()).unwrap();
        let out = admin_command(
            &data,
            &["client", "add", "--metadata", &path.to_string_lossy()],
        )
        .output()
        .unwrap();
        assert_eq!(out.status.success(), ok, "{metadata}: {out:?}");
    }
    let app = App::start(&data);
    let doc = app.get("/.well-known/openid-configuration").json();
    assert_eq!(
        doc["response_modes_supported"],
        json!([
            "query",
            "fragment",
            "form_post",
            "query.jwt",
            "fragment.jwt",
            "form_post.jwt",
            "jwt"
        ])
    );
    assert_eq!(
        doc["authorization_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
}
