//! `login_hint_token` and `user_code` at `/bc-authorize` against the
//! in-memory store.

use authrim_jose::jws::sign_compact;
use authrim_jose::{Alg, SigningKey};
use authrim_protocol::secret::hash_token;
use authrim_protocol::{HttpResponse, Issuer};
use base64::Engine;
use serde_json::{json, Value};

use super::user_code::LIMIT;
use crate::config::Config;
use crate::request::Request;
use crate::store::{SubjectMapping, TrustedIssuer};
use crate::testing::{block_on, MemoryStore};
use crate::Env;

const NOW: i64 = 1_800_000_000;
const SECRET: &str = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-x";
const ISSUER: &str = "https://id.example.com";
const IDP: &str = "https://idp.example";
/// argon2id of "4321" with tiny parameters, so that tests verify quickly
/// (`verify_password` takes the parameters from the string).
const CODE_HASH: &str =
    "$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$Q79E+9PywgC4SaJCk84utfj/ZDO16mDiIKTG04aL0DY";

fn store(key: &SigningKey) -> MemoryStore {
    let s = MemoryStore::default();
    let ciba = |extra: &str| {
        format!(
            r#"{{"grant_types":["urn:openid:params:grant-type:ciba"],"backchannel_token_delivery_mode":"poll"{extra}}}"#
        )
    };
    s.add_client("bank", &ciba(""), Some(hash_token(SECRET)));
    s.add_client(
        "pin",
        &ciba(r#","backchannel_user_code_parameter":true"#),
        Some(hash_token(SECRET)),
    );
    s.add_user("u1", "alice");
    s.add_user("u2", "bob");
    s.user_codes
        .borrow_mut()
        .insert("u1".into(), CODE_HASH.into());
    let jwks = format!(
        "{{\"keys\":[{}]}}",
        key.public_key().to_jwk_json("k1", key.alg())
    );
    for (iss, mapping) in [
        (IDP, SubjectMapping::User),
        ("https://svc.example", SubjectMapping::Service),
    ] {
        s.issuers.borrow_mut().insert(
            iss.into(),
            TrustedIssuer {
                issuer: iss.into(),
                jwks_json: Some(jwks.clone()),
                jwks_uri: None,
                allowed_subjects: vec!["alice".into(), "u1".into(), "u2".into(), "ghost".into()],
                allowed_scopes: vec![],
                subject_mapping: mapping,
                created_at: 0,
            },
        );
    }
    s
}

fn token(key: &SigningKey, changes: Value) -> String {
    let mut c = json!({"iss": IDP, "sub": "alice", "aud": ISSUER, "exp": NOW + 300, "iat": NOW});
    for (k, v) in changes.as_object().unwrap() {
        c[k] = v.clone();
    }
    sign_compact(key, "k1", Some("JWT"), c.to_string().as_bytes()).unwrap()
}

fn authorize(store: &MemoryStore, client: &str, body: &str) -> HttpResponse {
    let config = Config {
        issuer: Issuer::parse(ISSUER).unwrap(),
        device_code_ttl: 600,
        device_poll_interval: 5,
        ciba_webhook: None,
    };
    let env = Env {
        store,
        config: &config,
        now: NOW,
    };
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client}:{SECRET}"))
    );
    let req = Request {
        method: "POST",
        path: "/bc-authorize",
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: Some(&auth),
        body: body.as_bytes(),
        ..Default::default()
    };
    block_on(crate::handle(&env, &req))
}

/// Status and `error` (none on success).
fn outcome(r: &HttpResponse) -> (u16, Option<String>) {
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    (r.status, body["error"].as_str().map(str::to_string))
}

#[test]
fn login_hint_token_names_the_user() {
    let key = SigningKey::generate(Alg::ES256).unwrap();
    let s = store(&key);
    for sub in ["alice", "u1"] {
        let t = token(&key, json!({"sub": sub}));
        let r = authorize(&s, "bank", &format!("scope=openid&login_hint_token={t}"));
        assert_eq!(outcome(&r), (200, None), "{sub}");
    }
    let users: Vec<String> = s
        .ciba
        .borrow()
        .iter()
        .map(|(r, _)| r.user_id.clone())
        .collect();
    assert_eq!(users, ["u1", "u1"]);
}

#[test]
fn login_hint_token_refusals() {
    let key = SigningKey::generate(Alg::ES256).unwrap();
    let other = SigningKey::generate(Alg::ES256).unwrap();
    let s = store(&key);
    s.users.borrow_mut().get_mut("u2").unwrap().disabled = true;
    let table = [
        (
            token(&key, json!({"iss": "https://evil.example"})),
            "invalid_request",
        ),
        (
            token(&key, json!({"iss": "https://svc.example"})),
            "invalid_request",
        ),
        (
            token(&key, json!({"aud": "https://else.example"})),
            "invalid_request",
        ),
        (
            token(&key, json!({"exp": NOW - 120})),
            "expired_login_hint_token",
        ),
        (token(&other, json!({})), "invalid_request"),
        (token(&key, json!({"sub": "carol"})), "invalid_request"),
        (token(&key, json!({"sub": "ghost"})), "unknown_user_id"),
        (token(&key, json!({"sub": "u2"})), "unknown_user_id"),
    ];
    for (t, error) in table {
        let r = authorize(&s, "bank", &format!("scope=openid&login_hint_token={t}"));
        assert_eq!(outcome(&r), (400, Some(error.into())));
    }
    assert!(s.ciba.borrow().is_empty());
}

#[test]
fn user_code_is_required_checked_and_throttled() {
    let key = SigningKey::generate(Alg::ES256).unwrap();
    let s = store(&key);
    let send = |client: &str, extra: &str| {
        outcome(&authorize(
            &s,
            client,
            &format!("scope=openid&login_hint=alice{extra}"),
        ))
    };
    let err = |status: u16, e: &str| (status, Some(e.to_string()));
    assert_eq!(send("pin", ""), err(400, "missing_user_code"));
    assert_eq!(send("bank", "&user_code=4321"), err(400, "invalid_request"));
    assert_eq!(send("bank", ""), (200, None));
    assert_eq!(send("pin", "&user_code=4321"), (200, None));
    // bob has no code.
    let bob = outcome(&authorize(
        &s,
        "pin",
        "scope=openid&login_hint=bob&user_code=4321",
    ));
    assert_eq!(bob, err(400, "invalid_user_code"));
    // A right code clears the count; LIMIT wrong ones lock out even the
    // right one.
    for _ in 0..LIMIT - 1 {
        assert_eq!(
            send("pin", "&user_code=0000"),
            err(400, "invalid_user_code")
        );
    }
    assert_eq!(send("pin", "&user_code=4321"), (200, None));
    for _ in 0..LIMIT {
        assert_eq!(
            send("pin", "&user_code=0000"),
            err(400, "invalid_user_code")
        );
    }
    assert_eq!(send("pin", "&user_code=4321"), err(403, "access_denied"));
}
