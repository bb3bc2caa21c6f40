//! Discovery documents and the JWK Set, as a client sees them.

use crate::harness::{App, DataDir, ISSUER};
use serde_json::Value;

#[test]
fn openid_configuration_lists_exactly_what_is_served() {
    let data = DataDir::new();
    let app = App::start(&data);
    let r = app.get("/.well-known/openid-configuration");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let doc = r.json();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
    // Nothing is advertised that this deployment does not serve: every
    // endpoint URL in the document must answer something other than 404.
    for (name, value) in doc.as_object().unwrap() {
        if name.ends_with("_endpoint") || name == "jwks_uri" {
            let path = value.as_str().unwrap().strip_prefix(ISSUER).unwrap();
            assert_ne!(
                app.get(path).status,
                404,
                "{name} is advertised but not served"
            );
        }
    }

    let r = app.get("/.well-known/oauth-authorization-server");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["issuer"],
        ISSUER,
        "RFC 8414 §3.3: issuer must match"
    );
}

#[test]
fn jwks_has_public_keys_only() {
    let data = DataDir::new();
    let app = App::start(&data);
    let r = app.get("/.well-known/jwks.json");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/jwk-set+json"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=600"));
    let jwks = r.json();
    let all = jwks["keys"].as_array().expect("keys array");
    // The encryption key for request objects (RFC 9101 6.1): P-256, no alg
    // (the three ECDH-ES variants), never a signing key.
    let enc: Vec<&Value> = all.iter().filter(|k| k["use"] == "enc").collect();
    assert_eq!(enc.len(), 1, "{jwks}");
    assert_eq!(
        (enc[0]["kty"].as_str(), enc[0]["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert!(enc[0].get("alg").is_none() && enc[0].get("d").is_none());
    let keys: Vec<Value> = all.iter().filter(|k| k["use"] != "enc").cloned().collect();
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "RS256"]);
    let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    kids.dedup();
    assert_eq!(kids.len(), 2, "distinct kids");
    for k in keys {
        assert_eq!(k["use"], "sig");
        match k["kty"].as_str().unwrap() {
            "RSA" => {
                assert_eq!(k["alg"], "RS256");
                assert!(k["n"].is_string() && k["e"].is_string());
            }
            "EC" => {
                assert_eq!(k["alg"], "ES256");
                assert_eq!(k["crv"], "P-256");
                assert!(k["x"].is_string() && k["y"].is_string());
            }
            other => panic!("unexpected kty {other}"),
        }
        // RFC 7517/7518: private members never appear in a public JWKS.
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(k.get(private).is_none(), "private member {private} in {k}");
        }
    }
    // The same keys on every request (they are stored, not regenerated).
    assert_eq!(app.get("/.well-known/jwks.json").json(), jwks);
}

#[test]
fn conditional_requests_and_cors_preflight() {
    let data = DataDir::new();
    let app = App::start(&data);
    let r = app.get("/.well-known/jwks.json");
    let etag = r.header("etag").expect("etag").to_string();
    let r = app.request(
        "GET",
        "/.well-known/jwks.json",
        &[("if-none-match", &etag)],
        b"",
    );
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = app.request(
        "OPTIONS",
        "/.well-known/openid-configuration",
        &[
            ("origin", "https://app.example.test"),
            ("access-control-request-method", "GET"),
        ],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let head = app.request("HEAD", "/.well-known/openid-configuration", &[], b"");
    assert_eq!(head.status, 200);
}

#[test]
fn issuer_comes_from_the_variable() {
    let data = DataDir::new();
    let issuer = "https://login.example.org/tenant-a";
    let app = App::start_with_env(&data, &[("SPIN_VARIABLE_ISSUER", issuer)]);
    let doc: Value = app.get("/.well-known/openid-configuration").json();
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
}

#[test]
fn an_invalid_issuer_is_a_clean_server_error() {
    let data = DataDir::new();
    let app = App::start_with_env(
        &data,
        &[("SPIN_VARIABLE_ISSUER", "http://not-loopback.example")],
    );
    let r = app.get("/.well-known/openid-configuration");
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"], "server_error");
    // JWKS does not depend on the issuer.
    assert_eq!(app.get("/.well-known/jwks.json").status, 200);
}
