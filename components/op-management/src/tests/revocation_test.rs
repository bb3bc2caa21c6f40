use serde_json::json;

use crate::env::Registration;
use crate::testing::*;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const CODE: &str = r#"{"redirect_uris":["https://rp.example/cb"],"grant_types":["authorization_code","refresh_token"]"#;

/// `c1` (basic) owns grant g1 (refresh `rt1`, access `at1`, `at2`); `c2`
/// (basic) owns g2 (refresh `rt2`, access `at3`); `pub` (public) owns g3
/// (refresh `rt3`, access `at4`).
fn world() -> (FakeStore, Vec<String>) {
    let store = FakeStore::new();
    store.add_client("c1", &format!("{CODE}}}"), Some("s1"));
    store.add_client("c2", &format!("{CODE}}}"), Some("s2"));
    store.add_client(
        "pub",
        &format!(r#"{CODE},"token_endpoint_auth_method":"none"}}"#),
        None,
    );
    let mut ats = Vec::new();
    for (grant, client, refresh, n) in [
        ("g1", "c1", "rt1", 2),
        ("g2", "c2", "rt2", 1),
        ("g3", "pub", "rt3", 1),
    ] {
        store.add_grant(grant, client, Some("u1"), None);
        store.add_refresh(refresh, grant);
        for _ in 0..n {
            let at = access_token_jwt(&json!({"sub": "u1", "client_id": client, "jti": ats.len()}));
            store.add_access(&at, grant, NOW + 600);
            ats.push(at);
        }
    }
    (store, ats)
}

fn revoke(store: &FakeStore, auth: Option<&str>, body: &str) -> authrim_protocol::HttpResponse {
    let mut headers = vec![FORM];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    call(
        store,
        Registration::Open,
        "POST",
        "/revoke",
        &headers,
        body.as_bytes(),
    )
}

fn ok(resp: &authrim_protocol::HttpResponse) {
    assert_eq!(
        resp.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    assert!(resp.body.is_empty());
    assert_eq!(resp.header_value("cache-control"), Some("no-store"));
    assert_eq!(resp.header_value("access-control-allow-origin"), Some("*"));
}

#[test]
fn a_refresh_token_takes_its_family_and_access_tokens() {
    let (store, ats) = world();
    ok(&revoke(
        &store,
        Some(&basic("c1", "s1")),
        "token=rt1&token_type_hint=refresh_token",
    ));
    assert!(store.grant_revoked("g1"));
    assert!(store.access_revoked(&ats[0]) && store.access_revoked(&ats[1]));
    assert!(
        !store.grant_revoked("g2") && !store.access_revoked(&ats[2]),
        "other grants untouched"
    );
    // Again: now unknown, still 200.
    ok(&revoke(&store, Some(&basic("c1", "s1")), "token=rt1"));
}

#[test]
fn an_access_token_is_revoked_alone() {
    let (store, ats) = world();
    ok(&revoke(
        &store,
        Some(&basic("c1", "s1")),
        &format!("token={}", ats[0]),
    ));
    assert!(store.access_revoked(&ats[0]));
    assert!(!store.access_revoked(&ats[1]), "sibling access token stays");
    assert!(
        !store.grant_revoked("g1"),
        "the grant and refresh token stay"
    );
    // Hints only order the lookups; unknown hints are ignored.
    for hint in ["refresh_token", "urn:example:unknown"] {
        ok(&revoke(
            &store,
            Some(&basic("c1", "s1")),
            &format!("token={}&token_type_hint={hint}", ats[1]),
        ));
    }
    assert!(store.access_revoked(&ats[1]));
}

#[test]
fn unknown_tokens_answer_200() {
    let (store, _) = world();
    for body in [
        "token=unknown",
        "token=a.b.c&token_type_hint=access_token",
        &format!("token={}", "y".repeat(9000)),
    ] {
        ok(&revoke(&store, Some(&basic("c1", "s1")), body));
    }
}

#[test]
fn only_the_owning_client_may_revoke() {
    let (store, ats) = world();
    for body in ["token=rt2".to_string(), format!("token={}", ats[2])] {
        let resp = revoke(&store, Some(&basic("c1", "s1")), &body);
        assert_eq!(error_of(&resp), (400, "invalid_request".into()), "{body}");
    }
    assert!(!store.grant_revoked("g2") && !store.access_revoked(&ats[2]));
    // A public client revokes its own tokens with its client_id alone...
    ok(&revoke(&store, None, "token=rt3&client_id=pub"));
    assert!(store.grant_revoked("g3") && store.access_revoked(&ats[3]));
    // ...and nobody else's.
    let resp = revoke(&store, None, "token=rt1&client_id=pub");
    assert_eq!(error_of(&resp), (400, "invalid_request".into()));
    assert!(!store.grant_revoked("g1"));
}

#[test]
fn unauthenticated_requests_are_refused() {
    let (store, _) = world();
    let cases: [(Option<String>, &str); 5] = [
        (None, "token=rt1"),
        (None, "token=rt1&client_id=c1"),
        (None, "token=rt1&client_id=c1&client_secret=wrong"),
        (Some(basic("c1", "wrong")), "token=rt1"),
        (Some(basic("pub", "x")), "token=rt3"),
    ];
    for (auth, body) in cases {
        let resp = revoke(&store, auth.as_deref(), body);
        assert_eq!(
            error_of(&resp),
            (401, "invalid_client".into()),
            "{auth:?} {body}"
        );
    }
    assert_eq!(store.lookups.get(), 0);
    assert!(!store.grant_revoked("g1") && !store.grant_revoked("g3"));
}

#[test]
fn malformed_requests_and_preflight() {
    let (store, _) = world();
    let auth = basic("c1", "s1");
    let resp = revoke(&store, Some(&auth), "");
    assert_eq!(error_of(&resp), (400, "invalid_request".into()));
    let resp = revoke(&store, Some(&auth), "token=a&token=b");
    assert_eq!(error_of(&resp), (400, "invalid_request".into()));
    let resp = call(
        &store,
        Registration::Open,
        "POST",
        "/revoke",
        &[("authorization", &auth)],
        b"token=rt1",
    );
    assert_eq!(
        error_of(&resp),
        (400, "invalid_request".into()),
        "no content type"
    );
    assert!(!store.grant_revoked("g1"));
    let resp = call(&store, Registration::Open, "GET", "/revoke", &[], b"");
    assert_eq!(resp.status, 405);
    let resp = call(&store, Registration::Open, "OPTIONS", "/revoke", &[], b"");
    assert_eq!(resp.status, 204);
    assert_eq!(resp.header_value("access-control-allow-origin"), Some("*"));
    assert_eq!(
        resp.header_value("access-control-allow-methods"),
        Some("POST, OPTIONS")
    );
}
