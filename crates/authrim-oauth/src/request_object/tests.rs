use super::*;
use authrim_jose::{b64, jws, test_keys, SigningKey};
use serde_json::json;

const ISSUER: &str = "https://id.example.com";
const CLIENT: &str = "rp1";
const NOW: i64 = 1_800_000_000;

fn issuer() -> Issuer {
    Issuer::parse(ISSUER).unwrap()
}

fn keys() -> (SigningKey, SigningKey) {
    (test_keys::rsa(), SigningKey::generate(Alg::ES256).unwrap())
}

fn jwks(keys: &[(&SigningKey, &str)]) -> Jwks {
    let list: Vec<String> = keys
        .iter()
        .map(|(k, kid)| k.public_key().to_jwk_json(kid, k.alg()))
        .collect();
    Jwks::parse(&format!(r#"{{"keys":[{}]}}"#, list.join(","))).unwrap()
}

fn claims() -> Value {
    json!({
        "iss": CLIENT, "aud": ISSUER, "client_id": CLIENT,
        "exp": NOW + 300, "iat": NOW, "nbf": NOW, "jti": "j1",
        "response_type": "code", "scope": "openid profile",
        "redirect_uri": "https://rp.example/cb", "state": "s1",
        "max_age": 600, "claims": {"userinfo": {"email": null}},
    })
}

fn sign(key: &SigningKey, kid: &str, claims: &Value) -> String {
    jws::sign_compact(key, kid, None, claims.to_string().as_bytes()).unwrap()
}

fn run(token: &str, metadata: &ClientMetadata, set: &Jwks) -> Result<RequestObject, OAuthError> {
    verify(token, CLIENT, metadata, Some(set), &issuer(), NOW)
}

#[test]
fn a_signed_request_object_becomes_the_request() {
    let (rsa, ec) = keys();
    let set = jwks(&[(&rsa, "r1"), (&ec, "e1")]);
    for (key, kid) in [(&rsa, "r1"), (&ec, "e1")] {
        let object = run(&sign(key, kid, &claims()), &ClientMetadata::default(), &set).unwrap();
        let p = &object.params;
        assert_eq!(p.get("response_type"), Some("code"));
        assert_eq!(p.get("scope"), Some("openid profile"));
        assert_eq!(p.get("client_id"), Some(CLIENT));
        assert_eq!(p.get("max_age"), Some("600"));
        assert_eq!(p.get("claims"), Some(r#"{"userinfo":{"email":null}}"#));
        for jwt_claim in JWT_CLAIMS {
            assert!(!p.contains(jwt_claim), "{jwt_claim}");
        }
        let replay = object.replay.unwrap();
        assert_eq!(replay.key, hash_token("rp1\nj1"));
        assert_eq!(replay.expires_at, NOW + 300 + LEEWAY);
    }
    // Without jti there is nothing to record; aud may be a list.
    let mut c = claims();
    c.as_object_mut().unwrap().remove("jti");
    c["aud"] = json!(["https://other.example", ISSUER]);
    let object = run(&sign(&rsa, "r1", &c), &ClientMetadata::default(), &set).unwrap();
    assert_eq!(object.replay, None);
}

#[test]
fn negative_table() {
    let (rsa, ec) = keys();
    let set = jwks(&[(&rsa, "r1"), (&ec, "e1")]);
    let other = SigningKey::generate(Alg::ES256).unwrap();
    let with = |name: &str, value: Value| {
        let mut c = claims();
        c[name] = value;
        sign(&rsa, "r1", &c)
    };
    let without = |name: &str| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(name);
        sign(&rsa, "r1", &c)
    };
    let unsigned = format!(
        "{}.{}.",
        b64::encode(json!({"alg": "none"}).to_string()),
        b64::encode(claims().to_string())
    );
    let hs256 = format!(
        "{}.{}.{}",
        b64::encode(json!({"alg": "HS256"}).to_string()),
        b64::encode(claims().to_string()),
        b64::encode([0u8; 32])
    );
    let good = sign(&rsa, "r1", &claims());
    let (head, rest) = good.split_once('.').unwrap();
    let tampered_payload = format!(
        "{head}.{}.{}",
        b64::encode(
            with("scope", json!("openid admin"))
                .split('.')
                .nth(1)
                .unwrap()
        ),
        rest.split('.').nth(1).unwrap()
    );
    let oversized = with("state", json!("x".repeat(MAX_REQUEST_OBJECT_BYTES)));
    let table: Vec<(&str, String)> = vec![
        ("signed by another key", sign(&other, "e1", &claims())),
        ("tampered payload", tampered_payload),
        ("alg none", unsigned),
        ("alg HS256", hs256),
        ("malformed", "not.a.jwt".into()),
        ("two parts", "eyJhbGciOiJSUzI1NiJ9.e30".into()),
        ("encrypted (five parts)", "a.b.c.d.e".into()),
        ("oversized", oversized),
        ("wrong iss", with("iss", json!("rp2"))),
        ("no iss", without("iss")),
        ("wrong aud", with("aud", json!("https://evil.example"))),
        ("no aud", without("aud")),
        ("wrong client_id", with("client_id", json!("rp2"))),
        ("no client_id", without("client_id")),
        ("no exp", without("exp")),
        ("expired", with("exp", json!(NOW - LEEWAY))),
        (
            "exp too far",
            with("exp", json!(NOW + MAX_LIFETIME + LEEWAY + 1)),
        ),
        ("exp not a number", with("exp", json!("soon"))),
        ("nbf in the future", with("nbf", json!(NOW + LEEWAY + 1))),
        ("iat in the future", with("iat", json!(NOW + LEEWAY + 1))),
        ("jti not a string", with("jti", json!(7))),
        ("nested request", with("request", json!("x.y.z"))),
        (
            "nested request_uri",
            with("request_uri", json!("https://rp/x")),
        ),
        ("array member", with("scope", json!(["openid"]))),
        ("boolean member", with("state", json!(true))),
        ("payload not an object", sign(&rsa, "r1", &json!([1]))),
    ];
    for (name, token) in table {
        let e = run(&token, &ClientMetadata::default(), &set).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequestObject, "{name}: {e:?}");
    }
    // No keys at all.
    let e = verify(
        &good,
        CLIENT,
        &ClientMetadata::default(),
        None,
        &issuer(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequestObject);
    // Another client's view of the same object.
    let e = verify(
        &good,
        "rp2",
        &ClientMetadata::default(),
        Some(&set),
        &issuer(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequestObject);
}

#[test]
fn the_registered_alg_is_enforced() {
    let (rsa, ec) = keys();
    let set = jwks(&[(&rsa, "r1"), (&ec, "e1")]);
    let es256_only = ClientMetadata {
        request_object_signing_alg: Some(crate::client_metadata::JwsAlg::ES256),
        ..Default::default()
    };
    assert!(run(&sign(&ec, "e1", &claims()), &es256_only, &set).is_ok());
    let e = run(&sign(&rsa, "r1", &claims()), &es256_only, &set).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequestObject);
}

#[test]
fn times_at_the_edges() {
    let (rsa, _) = keys();
    let set = jwks(&[(&rsa, "r1")]);
    let at = |exp: i64| {
        let mut c = claims();
        c["exp"] = json!(exp);
        run(&sign(&rsa, "r1", &c), &ClientMetadata::default(), &set)
    };
    assert!(at(NOW - LEEWAY + 1).is_ok());
    assert!(at(NOW - LEEWAY).is_err());
    assert!(at(NOW + MAX_LIFETIME + LEEWAY).is_ok());
}

#[test]
fn encrypted_request_objects_open_with_the_op_key() {
    use authrim_jose::jwe::{encrypt_compact, ContentEnc};
    use authrim_jose::Jwk;
    let op = SigningKey::generate(Alg::ES256).unwrap();
    let mut op_jwk = Jwk::parse(&op.public_key().to_jwk_json("enc-1", Alg::ES256)).unwrap();
    op_jwk.alg = None;
    op_jwk.use_ = Some("enc".into());
    let agree = |kid: Option<&str>, x: &[u8; 32], y: &[u8; 32]| {
        Ok(match kid {
            Some("enc-1") | None => op.ecdh(x, y).ok().map(|z| z.to_vec()),
            Some(_) => None,
        })
    };
    let (rsa, _) = keys();
    let set = jwks(&[(&rsa, "r1")]);
    let signed = sign(&rsa, "r1", &claims());
    let plain = ClientMetadata::default();
    for alg in ENCRYPTION_ALGS {
        for &enc in ContentEnc::ALL {
            let jwe = encrypt_compact(&op_jwk, alg, enc, Some("JWT"), signed.as_bytes()).unwrap();
            assert!(is_encrypted(&jwe));
            let inside = decrypt(&jwe, &plain, agree).unwrap();
            assert_eq!(inside, signed);
            assert!(run(&inside, &plain, &set).is_ok());
        }
    }
    let jwe = |alg, enc, payload: &[u8]| encrypt_compact(&op_jwk, alg, enc, None, payload).unwrap();
    let registered = ClientMetadata {
        request_object_encryption_alg: Some(KeyAlg::EcdhEsA256Kw),
        request_object_encryption_enc: Some(ContentEnc::A256Gcm),
        ..Default::default()
    };
    let good = jwe(KeyAlg::EcdhEsA256Kw, ContentEnc::A256Gcm, signed.as_bytes());
    assert_eq!(decrypt(&good, &registered, agree).unwrap(), signed);
    // To another key under our kid, or another kid.
    let stranger = SigningKey::generate(Alg::ES256).unwrap();
    let mut stranger_jwk =
        Jwk::parse(&stranger.public_key().to_jwk_json("enc-1", Alg::ES256)).unwrap();
    stranger_jwk.alg = None;
    stranger_jwk.use_ = Some("enc".into());
    let to_stranger = encrypt_compact(
        &stranger_jwk,
        KeyAlg::EcdhEs,
        ContentEnc::A128Gcm,
        None,
        signed.as_bytes(),
    )
    .unwrap();
    stranger_jwk.kid = Some("enc-2".into());
    let other_kid = encrypt_compact(
        &stranger_jwk,
        KeyAlg::EcdhEs,
        ContentEnc::A128Gcm,
        None,
        signed.as_bytes(),
    )
    .unwrap();
    let cases: Vec<(&str, String, &ClientMetadata)> = vec![
        ("another key", to_stranger, &plain),
        ("another kid", other_kid, &plain),
        (
            "not the registered alg",
            jwe(KeyAlg::EcdhEs, ContentEnc::A256Gcm, signed.as_bytes()),
            &registered,
        ),
        (
            "not the registered enc",
            jwe(KeyAlg::EcdhEsA256Kw, ContentEnc::A128Gcm, signed.as_bytes()),
            &registered,
        ),
        ("malformed", "a.b.c.d.e".into(), &plain),
        (
            "oversized",
            "a.".repeat(MAX_ENCRYPTED_REQUEST_OBJECT_BYTES),
            &plain,
        ),
    ];
    for (name, token, metadata) in cases {
        let e = decrypt(&token, metadata, agree).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequestObject, "{name}");
    }
    // Inside must be signed: alg none, or a JWE again, is refused.
    let unsigned = format!(
        "{}.{}.",
        b64::encode(json!({"alg": "none"}).to_string()),
        b64::encode(claims().to_string())
    );
    for inside in [unsigned, good.clone()] {
        let outer = jwe(KeyAlg::EcdhEs, ContentEnc::A128Gcm, inside.as_bytes());
        let opened = decrypt(&outer, &plain, agree).unwrap();
        let e = run(&opened, &plain, &set).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequestObject);
    }
}
